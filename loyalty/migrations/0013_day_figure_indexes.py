from tortoise import migrations

from app.core.migration_ops import per_dialect

# The ops console's home page counts the day's new members and sales (`loyalty.repository.day_figures`):
# without these, both read every row of their table (a year of members, months of sales).
_INDEXES = """
CREATE INDEX loyalty_sale_created ON loyalty_sale (created_at);
CREATE INDEX loyalty_member_joined ON loyalty_member (joined_at) WHERE joined_at IS NOT NULL;
"""
_DROP = "DROP INDEX loyalty_sale_created; DROP INDEX loyalty_member_joined;"


class Migration(migrations.Migration):
    dependencies = [('loyalty', '0012_member_payment')]

    initial = False

    operations = [
        per_dialect(postgres=_INDEXES, sqlite=_INDEXES, reverse_postgres=_DROP, reverse_sqlite=_DROP),
    ]
