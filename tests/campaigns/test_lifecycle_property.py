"""Property-based test of the campaign lifecycle: random sequences of operator actions and clock ticks,
run against the real services and database, always agree with a small independent model, never
break four eyes, and leave one audit entry per transition."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.auth.tokens import Audience, Principal
from app.core.errors import ProblemError
from app.core.models import AuditEntry
from app.core.timeutil import utcnow
from campaigns.lifecycle.table import Action
from campaigns.management import service
from campaigns.models import Campaign
from campaigns.schemas import CampaignIn, CampaignPatch

AUTHOR = Principal(Audience.OPERATOR, 1, str(uuid.uuid4()), ("campaign_manager",))
BOTH = Principal(Audience.OPERATOR, 2, str(uuid.uuid4()), ("campaign_manager", "approver"))
APPROVER = Principal(Audience.OPERATOR, 3, str(uuid.uuid4()), ("approver",))
MANAGERS = st.sampled_from([AUTHOR, BOTH])
APPROVERS = st.sampled_from([BOTH, APPROVER])

STEPS = st.one_of(
    st.tuples(st.just("edit"), MANAGERS),
    st.tuples(st.just("submit"), MANAGERS),
    st.tuples(st.just("approve"), APPROVERS),
    st.tuples(st.just("reject"), APPROVERS),
    st.tuples(st.sampled_from(["pause", "resume", "end", "cancel"]), MANAGERS),
    st.tuples(st.just("clock"), st.just(AUTHOR)),
)

# The expected lifecycle, written independently of campaigns.lifecycle.table.
MOVES = {
    ("draft", "edit"): "draft",
    ("pending_approval", "edit"): "pending_approval",
    ("approved", "edit"): "pending_approval",
    ("draft", "submit"): "pending_approval",
    ("pending_approval", "approve"): "approved",
    ("pending_approval", "reject"): "draft",
    ("live", "pause"): "paused",
    ("paused", "resume"): "live",
    ("approved", "end"): "ended",
    ("live", "end"): "ended",
    ("paused", "end"): "ended",
    ("draft", "cancel"): "cancelled",
    ("pending_approval", "cancel"): "cancelled",
    ("approved", "cancel"): "cancelled",
}


@dataclass
class Model:
    """What the campaign should look like."""

    starts: datetime
    ends: datetime
    clock: datetime
    status: str = "draft"
    created_by: int = AUTHOR.id
    updated_by: int = AUTHOR.id
    transitions: int = 0
    log: list[str] = field(default_factory=list)

    def follow_clock(self) -> None:
        if self.status == "approved" and self.starts <= self.clock < self.ends:
            self.move("live")
        if self.status in ("approved", "live", "paused") and self.ends <= self.clock:
            self.move("ended")

    def move(self, status: str) -> None:
        self.status = status
        self.transitions += 1

    def expect(self, step: str, actor: Principal) -> str | None:
        """Apply a step; the error code it must raise, or None when it succeeds."""
        if step in ("approve", "reject") and actor.id in (self.created_by, self.updated_by):
            return "campaign.four_eyes"
        target = MOVES.get((self.status, step))
        if target is None:
            return "campaign.not_editable" if step == "edit" else "campaign.invalid_transition"
        if step == "edit" and self.status == "approved" and self.starts - timedelta(seconds=60) <= self.clock:
            return "campaign.not_editable"
        if step in ("submit", "approve") and self.ends <= self.clock:
            return "validation_error"
        if step == "edit":
            self.updated_by = actor.id
            if self.status == "approved":
                self.move(target)
            return None
        self.move(target)
        if step in ("approve", "resume"):
            self.follow_clock()
        return None


async def run(step: str, actor: Principal, campaign_id: int, now: datetime) -> None:
    if step == "edit":
        await service.update(actor, campaign_id, CampaignPatch(description=f"by {actor.id}"), now=now)
    elif step == "submit":
        await service.submit(actor, campaign_id, now=now)
    elif step == "approve":
        await service.approve(actor, campaign_id, now=now)
    elif step == "reject":
        await service.reject(actor, campaign_id, "not yet")
    elif step == "clock":
        await service.tick(now)
    else:
        await service.act(actor, campaign_id, Action(step), now=now)


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=1, max_size=14))
async def test_lifecycle_follows_the_model(steps: list[tuple[str, Principal]]) -> None:
    t0 = utcnow()
    model = Model(starts=t0 + timedelta(hours=1), ends=t0 + timedelta(hours=3), clock=t0)
    body = CampaignIn.model_validate(
        {
            "name": "property",
            "starts_at": model.starts,
            "ends_at": model.ends,
            "config": {"type": "multiplier", "multiplier_percent": 150},
        }
    )
    campaign_id = (await service.create(AUTHOR, body)).id
    for step, actor in steps:
        if step == "clock":
            model.clock += timedelta(hours=2)
            model.follow_clock()
            await run(step, actor, campaign_id, model.clock)
        else:
            expected_error = model.expect(step, actor)
            try:
                await run(step, actor, campaign_id, model.clock)
                error = None
            except ProblemError as exc:
                error = exc.code
            assert error == expected_error, (step, actor.id, model)
        row = await Campaign.get(id=campaign_id)
        assert row.status.value == model.status, (step, actor.id, model)
        assert row.updated_by == model.updated_by
        if row.approved_by is not None:
            assert row.approved_by not in (row.created_by, row.updated_by)
        if model.status in ("approved", "live", "paused"):
            assert row.approved_by is not None
    audited = await AuditEntry.filter(
        target_type="campaign",
        target_id=str(campaign_id),
        action__in=[f"campaign.{a.value}" for a in Action if a != Action.EDIT] + ["campaign.edit"],
    )
    # Every status change left exactly one entry recording it.
    assert len([e for e in audited if (e.before or {}).get("status") != (e.after or {}).get("status")]) == (
        model.transitions
    )
