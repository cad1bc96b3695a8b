from tortoise import migrations

from app.core.migration_ops import per_dialect

# A win row carries the campaign's stock and limits so that CHECK constraints can bound its slot and
# sequences; this ties those copies to the campaign itself, so they can never disagree with it.
_POSTGRES = """
ALTER TABLE "campaigns_flash_win" ADD CONSTRAINT "campaigns_flash_win_terms"
  FOREIGN KEY ("campaign_id", "stock", "member_limit", "member_day_limit")
  REFERENCES "campaigns_campaign" ("id", "stock", "member_limit", "member_day_limit")
  ON UPDATE RESTRICT ON DELETE RESTRICT;
"""

_SQLITE = """
CREATE TRIGGER "campaigns_flash_win_terms_insert" BEFORE INSERT ON "campaigns_flash_win"
  WHEN NOT EXISTS (
    SELECT 1 FROM "campaigns_campaign" c WHERE c."id" = NEW."campaign_id" AND c."stock" = NEW."stock"
      AND c."member_limit" = NEW."member_limit" AND c."member_day_limit" = NEW."member_day_limit")
  BEGIN SELECT RAISE(ABORT, 'campaigns_flash_win_terms: win does not match its campaign'); END;
CREATE TRIGGER "campaigns_flash_win_terms_update" BEFORE UPDATE ON "campaigns_flash_win"
  WHEN NOT EXISTS (
    SELECT 1 FROM "campaigns_campaign" c WHERE c."id" = NEW."campaign_id" AND c."stock" = NEW."stock"
      AND c."member_limit" = NEW."member_limit" AND c."member_day_limit" = NEW."member_day_limit")
  BEGIN SELECT RAISE(ABORT, 'campaigns_flash_win_terms: win does not match its campaign'); END;
CREATE TRIGGER "campaigns_campaign_terms_update" BEFORE UPDATE OF "stock", "member_limit", "member_day_limit"
  ON "campaigns_campaign"
  WHEN EXISTS (SELECT 1 FROM "campaigns_flash_win" w WHERE w."campaign_id" = OLD."id")
  BEGIN SELECT RAISE(ABORT, 'campaigns_flash_win_terms: the campaign has wins'); END;
"""


class Migration(migrations.Migration):
    dependencies = [('campaigns', '0003_auto_20261122_1145')]

    initial = False

    operations = [
        per_dialect(
            postgres=_POSTGRES,
            sqlite=_SQLITE,
            reverse_postgres='ALTER TABLE "campaigns_flash_win" DROP CONSTRAINT "campaigns_flash_win_terms";',
            reverse_sqlite=(
                'DROP TRIGGER "campaigns_flash_win_terms_insert"; DROP TRIGGER "campaigns_flash_win_terms_update";'
                ' DROP TRIGGER "campaigns_campaign_terms_update";'
            ),
        ),
    ]
