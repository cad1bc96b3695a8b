from tortoise import migrations

from app.core.migration_ops import append_only


class Migration(migrations.Migration):
    dependencies = [('billpay', '0002_check_constraints')]

    initial = False

    operations = [
        append_only("billpay_order_transition"),
    ]
