from tortoise import migrations

from app.core.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = False

    operations = [
        append_only("core_audit_entry"),
    ]
