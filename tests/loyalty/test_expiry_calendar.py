"""Points expire at the end of the 12th month after earning, in Asia/Shanghai months: hard-coded dates,
never computed with the product's own function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from loyalty.ledger.postings import lot_expiry

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("earned", "expires"),
    [
        # The issue's own example: earned mid-January 2026, gone at the start of February 2027.
        (datetime(2026, 1, 15, 12, 0, tzinfo=SHANGHAI), datetime(2027, 2, 1, tzinfo=SHANGHAI)),
        # Month ends: the last day of a month still belongs to that month.
        (datetime(2026, 1, 31, 9, 0, tzinfo=SHANGHAI), datetime(2027, 2, 1, tzinfo=SHANGHAI)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=SHANGHAI), datetime(2028, 1, 1, tzinfo=SHANGHAI)),
        (datetime(2026, 2, 1, 0, 0, tzinfo=SHANGHAI), datetime(2027, 3, 1, tzinfo=SHANGHAI)),
        # A leap day.
        (datetime(2028, 2, 29, 10, 0, tzinfo=SHANGHAI), datetime(2029, 3, 1, tzinfo=SHANGHAI)),
        # 07:00 on 1 May in Shanghai is still 30 April in UTC: Shanghai's month counts.
        (datetime(2026, 4, 30, 23, 0, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=SHANGHAI)),
        # 23:59 on 31 March in Shanghai is 15:59 UTC the same day: March, not April.
        (datetime(2026, 3, 31, 23, 59, tzinfo=SHANGHAI), datetime(2027, 4, 1, tzinfo=SHANGHAI)),
    ],
)
def test_points_expire_at_the_end_of_the_twelfth_month(earned: datetime, expires: datetime) -> None:
    assert lot_expiry(earned) == expires
    assert lot_expiry(earned).tzinfo is not None


def test_the_expiry_is_a_utc_instant_at_shanghai_midnight() -> None:
    assert lot_expiry(datetime(2026, 1, 15, 4, 0, tzinfo=UTC)) == datetime(2027, 1, 31, 16, 0, tzinfo=UTC)
