import re

from tortoise import migrations
from tortoise.migrations import operations as ops
from campaigns.models import OrderStatus
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

from app.core.migration_ops import per_dialect

# Slots and member sequences are unique among the wins still held: an expired or cancelled win gives
# its slot back to the sale (and its sequences, unless the campaign counts it against the limit).
_HELD = """
CREATE UNIQUE INDEX "campaigns_flash_win_held_slot" ON "campaigns_flash_win" ("campaign_id", "slot")
  WHERE "released_at" IS NULL;
CREATE UNIQUE INDEX "campaigns_flash_win_held_sequence"
  ON "campaigns_flash_win" ("campaign_id", "member_id", "sequence")
  WHERE "released_at" IS NULL OR "keeps_count" = {true};
CREATE UNIQUE INDEX "campaigns_flash_win_held_day_sequence"
  ON "campaigns_flash_win" ("campaign_id", "member_id", "business_day", "day_sequence")
  WHERE "released_at" IS NULL OR "keeps_count" = {true};
"""
_CHECKS = [
    (
        "campaigns_flash_win_order_state",
        "(status IN ('expired', 'cancelled')) = (released_at IS NOT NULL)"
        " AND (status = 'paid') = (paid_at IS NOT NULL) AND (keeps_count = FALSE OR released_at IS NOT NULL)",
    ),
    (
        "campaigns_flash_win_price",
        "price_fen >= 0 AND price_points >= 0 AND (price_fen = 0 OR price_points = 0)"
        " AND (status = 'issued') = (price_fen = 0 AND price_points = 0)"
        " AND (status = 'issued' OR pay_by IS NOT NULL)",
    ),
]
_COLUMNS = ("status", "released_at", "paid_at", "keeps_count", "price_fen", "price_points", "pay_by")


def _new_row(check: str) -> str:
    for column in _COLUMNS:
        check = re.sub(rf"(?<![\w.']){column}(?![\w'])", f'NEW."{column}"', check)
    return check.replace("FALSE", "0")


_DROP_HELD = (
    'DROP INDEX "campaigns_flash_win_held_slot"; DROP INDEX "campaigns_flash_win_held_sequence";'
    ' DROP INDEX "campaigns_flash_win_held_day_sequence";'
)

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0006_payout_reversal'), ('loyalty', '0011_member_home_grid'), ('merchants', '0001_initial'), ('merchants', '0002_auto_20261122_1138'), ('merchants', '0003_constraints'), ('merchants', '0004_auto_20261122_1144')]

    initial = False

    operations = [
        ops.RemoveConstraint(
            model_name='FlashWin',
            name='campaigns_flash_win_slot',
            fields=None,
        ),
        ops.RemoveConstraint(
            model_name='FlashWin',
            name='campaigns_flash_win_sequence',
            fields=None,
        ),
        ops.RemoveConstraint(
            model_name='FlashWin',
            name='campaigns_flash_win_day_sequence',
            fields=None,
        ),
        ops.AlterModelOptions(
            name='FlashWin',
            options={'table': 'campaigns_flash_win', 'app': 'campaigns', 'constraints': [CheckConstraint(check="(status IN ('expired', 'cancelled')) = (released_at IS NOT NULL) AND (status = 'paid') = (paid_at IS NOT NULL) AND (keeps_count = FALSE OR released_at IS NOT NULL)", name='campaigns_flash_win_order_state'), CheckConstraint(check="price_fen >= 0 AND price_points >= 0 AND (price_fen = 0 OR price_points = 0) AND (status = 'issued') = (price_fen = 0 AND price_points = 0) AND (status = 'issued' OR pay_by IS NOT NULL)", name='campaigns_flash_win_price'), CheckConstraint(check='slot BETWEEN 1 AND stock', name='campaigns_flash_win_slot_range'), CheckConstraint(check='sequence BETWEEN 1 AND member_limit', name='campaigns_flash_win_sequence_range'), CheckConstraint(check='day_sequence >= 1 AND (member_day_limit = 0 OR day_sequence <= member_day_limit)', name='campaigns_flash_win_day_range')], 'indexes': [Index(fields=['member_id', 'id']), Index(fields=['status', 'pay_by'])], 'pk_attr': 'id', 'table_description': 'A won flash grab and its order. Partial unique indexes on the slot and sequences of the wins still'},
        ),
        ops.AddField(
            model_name='FlashWin',
            name='keeps_count',
            field=fields.BooleanField(default=False, description='released but still counted against the member limits'),
        ),
        ops.AddField(
            model_name='FlashWin',
            name='paid_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='FlashWin',
            name='pay_by',
            field=fields.DatetimeField(null=True, description='payment deadline of a priced win', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='FlashWin',
            name='price_fen',
            field=fields.BigIntField(default=0, description='what the winner pays in fen'),
        ),
        ops.AddField(
            model_name='FlashWin',
            name='price_points',
            field=fields.BigIntField(default=0, description='what the winner pays in points'),
        ),
        ops.AddField(
            model_name='FlashWin',
            name='released_at',
            field=fields.DatetimeField(null=True, description='when its slot went back into the sale', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='FlashWin',
            name='status',
            field=fields.CharEnumField(default=OrderStatus.ISSUED, description='ISSUED: issued\nAWAITING_PAYMENT: awaiting_payment\nPAID: paid\nEXPIRED: expired\nCANCELLED: cancelled', enum_type=OrderStatus, max_length=16),
        ),
        ops.AddIndex(
            model_name='FlashWin',
            index=Index(fields=['status', 'pay_by']),
        ),
        # CHECKs by hand: SQLite's AddConstraint rebuilds the table, which its triggers do not survive.
        per_dialect(
            postgres="".join(
                f'ALTER TABLE "campaigns_flash_win" ADD CONSTRAINT "{name}" CHECK ({check});' for name, check in _CHECKS
            ),
            sqlite="".join(
                f'CREATE TRIGGER "{name}_{event.lower()}" BEFORE {event} ON "campaigns_flash_win"'
                f" WHEN NOT ({_new_row(check)}) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END;"
                for name, check in _CHECKS
                for event in ("INSERT", "UPDATE")
            ),
            reverse_postgres="".join(
                f'ALTER TABLE "campaigns_flash_win" DROP CONSTRAINT "{name}";' for name, _ in _CHECKS
            ),
            reverse_sqlite="".join(
                f'DROP TRIGGER "{name}_{event}";' for name, _ in _CHECKS for event in ("insert", "update")
            ),
        ),
        per_dialect(
            postgres=_HELD.format(true="TRUE"),
            sqlite=_HELD.format(true="1"),
            reverse_postgres=_DROP_HELD,
            reverse_sqlite=_DROP_HELD,
        ),
    ]
