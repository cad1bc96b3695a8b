from tortoise import migrations

from app.core.migration_ops import append_only, check_constraints, per_dialect

# PostgreSQL checks at commit that every journal touched by the transaction balances (sum of entries
# is zero, at least two entries). SQLite has no deferred triggers: there `linli ledger check` finds it.
_BALANCED_JOURNALS = """
CREATE OR REPLACE FUNCTION loyalty_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  total bigint;
  n integer;
BEGIN
  SELECT coalesce(sum(amount), 0), count(*) INTO total, n FROM loyalty_entry WHERE journal_id = NEW.journal_id;
  IF total <> 0 OR n < 2 THEN
    RAISE EXCEPTION 'journal % does not balance (sum %, % entries)', NEW.journal_id, total, n
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER loyalty_entry_balanced AFTER INSERT ON loyalty_entry
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION loyalty_journal_balanced();
"""

_ACCOUNTS_FOR_EXISTING_MEMBERS = """
INSERT INTO loyalty_points_account (member_id, balance, updated_at)
  SELECT id, 0, CURRENT_TIMESTAMP FROM loyalty_member;
"""


class Migration(migrations.Migration):
    dependencies = [('loyalty', '0002_auto_20261122_1148')]

    initial = False

    operations = [
        check_constraints(
            "loyalty",
            "MerchantProgram",
            "PointsAccount",
            "Journal",
            "Entry",
            "PointsLot",
            "LotMove",
            "Sale",
            "PointsPayment",
        ),
        append_only("loyalty_journal"),
        append_only("loyalty_entry"),
        append_only("loyalty_lot_move"),
        per_dialect(
            postgres=_BALANCED_JOURNALS,
            sqlite="",
            reverse_postgres="DROP TRIGGER loyalty_entry_balanced ON loyalty_entry;",
        ),
        per_dialect(postgres=_ACCOUNTS_FOR_EXISTING_MEMBERS, sqlite=_ACCOUNTS_FOR_EXISTING_MEMBERS),
    ]
