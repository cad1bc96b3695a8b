"""Property-based test of check-in streaks: random sequences of days (again the same day, the next day,
a gap) with random streak lengths, limits and budgets agree with a small independent model: the streak,
the rewards paid, the points credited, and the campaign ending when its budget is spent."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import ProblemError
from app.core.timeutil import utcnow
from campaigns.models import Campaign, CampaignPayout, CampaignStatus, CampaignType
from campaigns.types import checkin
from loyalty import ledger as loyalty_ledger
from loyalty.models import Member, PointsAccount
from tests.loyalty.support import assert_ledger_sound

POINTS = 7


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    gaps=st.lists(st.sampled_from([0, 1, 1, 1, 2, 3]), min_size=1, max_size=16),
    streak_days=st.integers(2, 4),
    member_limit=st.integers(1, 3),
    budget_count=st.one_of(st.none(), st.integers(1, 3)),
)
async def test_checkin_streaks_follow_the_model(
    gaps: list[int], streak_days: int, member_limit: int, budget_count: int | None
) -> None:
    t0 = utcnow()
    campaign = await Campaign.create(
        type=CampaignType.CHECKIN,
        status=CampaignStatus.LIVE,
        name="property check-in",
        starts_at=t0 - timedelta(minutes=1),
        ends_at=t0 + timedelta(days=60),
        config={
            "type": "checkin",
            "streak_days": streak_days,
            "reward": {"kind": "points", "title": "points", "points": POINTS, "cost_fen": 1},
        },
        member_limit=member_limit,
        budget_count=budget_count,
        created_by=1,
        updated_by=1,
        approved_by=2,
        approved_at=t0,
    )
    member = await Member.create(openid=f"prop-{uuid.uuid4().hex}")
    await PointsAccount.create(member_id=member.id, balance=0)

    day, last_day, streak, rewards, ended = 0, None, 0, 0, False
    for gap in gaps:
        day += gap
        now = t0 + timedelta(days=day)

        def clock(now: datetime = now) -> datetime:
            return now

        with mock.patch.object(checkin, "utcnow", clock):
            try:
                state = await checkin.check_in(member.id, campaign.id)
                error = None
            except ProblemError as exc:
                error = exc.code
        if ended:
            assert error == "campaign.not_running"
            continue
        assert error is None
        if last_day != day:
            streak = streak + 1 if last_day == day - 1 else 1
            last_day = day
            full = streak % streak_days == 0
            if full and rewards < member_limit and (budget_count is None or rewards < budget_count):
                rewards += 1
                ended = budget_count is not None and rewards == budget_count
        assert (state.streak, state.rewards, state.checked_in_today) == (streak, rewards, True)
    assert await CampaignPayout.filter(campaign_id=campaign.id).count() == rewards
    assert await loyalty_ledger.points_balance(member.id) == rewards * POINTS
    row = await Campaign.get(id=campaign.id)
    assert (row.status == CampaignStatus.ENDED) == ended
    assert row.spent_count == rewards
    await assert_ledger_sound()
