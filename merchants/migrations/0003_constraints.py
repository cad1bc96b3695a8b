from tortoise import migrations
from tortoise.migrations import operations as ops

from app.core.migration_ops import per_dialect

class Migration(migrations.Migration):
    dependencies = [('merchants', '0002_auto_20261122_1138')]

    initial = False

    # The generated CreateModel operations record these constraints in the migration state without
    # creating them, so the database gets them here.
    operations = [
        per_dialect(
            postgres="""
ALTER TABLE merchants_branch ADD CONSTRAINT branch_coords
  CHECK (lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180);
ALTER TABLE merchants_branch ADD CONSTRAINT branch_radius_positive CHECK (radius_m > 0);
ALTER TABLE merchants_store ADD CONSTRAINT store_qr_version CHECK (qr_version >= 0);
CREATE UNIQUE INDEX merchants_change_one_pending ON merchants_change (merchant_id) WHERE status = 'pending';
""",
            sqlite="""
CREATE UNIQUE INDEX merchants_change_one_pending ON merchants_change (merchant_id) WHERE status = 'pending';
CREATE TRIGGER branch_checks_insert BEFORE INSERT ON merchants_branch
  WHEN NEW.radius_m <= 0 OR NEW.lat NOT BETWEEN -90 AND 90 OR NEW.lng NOT BETWEEN -180 AND 180
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: branch'); END;
CREATE TRIGGER branch_checks_update BEFORE UPDATE ON merchants_branch
  WHEN NEW.radius_m <= 0 OR NEW.lat NOT BETWEEN -90 AND 90 OR NEW.lng NOT BETWEEN -180 AND 180
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: branch'); END;
CREATE TRIGGER store_qr_version_update BEFORE UPDATE ON merchants_store
  WHEN NEW.qr_version < 0
  BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: store_qr_version'); END;
""",
            reverse_postgres="""
ALTER TABLE merchants_branch DROP CONSTRAINT branch_coords;
ALTER TABLE merchants_branch DROP CONSTRAINT branch_radius_positive;
ALTER TABLE merchants_store DROP CONSTRAINT store_qr_version;
DROP INDEX merchants_change_one_pending;
""",
            reverse_sqlite="""
DROP INDEX merchants_change_one_pending;
DROP TRIGGER branch_checks_insert;
DROP TRIGGER branch_checks_update;
DROP TRIGGER store_qr_version_update;
""",
        ),
    ]
