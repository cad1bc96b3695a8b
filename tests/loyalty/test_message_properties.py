"""Property-based (hypothesis stateful) test of the delivery rules against a model: random sends of every
kind at random hours, repeated events, consent changes, opt-outs and time passing; after every step each
delivery in the database has the status and reason the model predicts (consent, opt-outs, quiet hours,
daily and weekly caps), and no event reached a member twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from app.core.config import get_settings
from app.core.timeutil import BUSINESS_TZ, business_day, business_day_bounds
from loyalty import messages
from loyalty.messages.templates import CAPPED, TEMPLATES, Category
from loyalty.models import DeliveryStatus, Member, MessageDelivery, MessageKind, MessageOptOut

T = TypeVar("T")
MEMBERS = 2
DAILY, WEEKLY = 2, 3
WHO = st.integers(0, MEMBERS - 1)
KINDS = st.sampled_from(list(MessageKind))
VARIABLES: dict[str, Any] = {name: "x" for template in TEMPLATES.values() for name in template.variables}


@dataclass
class Person:
    """The model of one member."""

    member_id: int
    marketing: bool
    opted_out: set[MessageKind] = field(default_factory=set)
    sent_capped: list[datetime] = field(default_factory=list)


class RulesMachine(RuleBasedStateMachine):
    """Send, repeat, change consent and opt-outs, let time pass."""

    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self.clock = datetime(2026, 12, 7, 6, 0, tzinfo=BUSINESS_TZ)
        self.people: list[Person] = []
        self.expected: dict[int, tuple[DeliveryStatus, str | None]] = {}  # delivery id → outcome
        self.events: dict[tuple[int, str], int] = {}  # (person, key) → delivery id
        self.counter = 0

    def run(self, awaitable: Awaitable[T]) -> T:
        async def wait() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wait(), self.loop).result(timeout=60)

    @initialize(consents=st.lists(st.booleans(), min_size=MEMBERS, max_size=MEMBERS))
    def members(self, consents: list[bool]) -> None:
        async def create() -> list[int]:
            ids = []
            for marketing in consents:
                self.counter += 1
                member = await Member.create(
                    openid=f"rules-{uuid.uuid4().hex}", joined_at=self.clock, marketing=marketing
                )
                ids.append(member.id)
            return ids

        ids = self.run(create())
        self.people = [
            Person(member_id, marketing) for member_id, marketing in zip(ids, consents, strict=True)
        ]

    def predict(self, person: Person, kind: MessageKind) -> tuple[DeliveryStatus, str | None]:
        category = TEMPLATES[kind].category
        if category is not Category.SERVICE and kind in person.opted_out:
            return DeliveryStatus.SUPPRESSED, "opted_out"
        if category is Category.PROMOTIONAL:
            if not person.marketing:
                return DeliveryStatus.SUPPRESSED, "no_consent"
            if self.clock.hour >= 21 or self.clock.hour < 8:
                return DeliveryStatus.PENDING, "quiet_hours"
        if category in CAPPED:
            day_start, _ = business_day_bounds(business_day(self.clock))
            if sum(1 for at in person.sent_capped if at >= day_start) >= DAILY:
                return DeliveryStatus.SUPPRESSED, "daily_cap"
            if sum(1 for at in person.sent_capped if at >= self.clock - timedelta(days=7)) >= WEEKLY:
                return DeliveryStatus.SUPPRESSED, "weekly_cap"
            person.sent_capped.append(self.clock)
        return DeliveryStatus.SENT, None

    @rule(who=WHO, kind=KINDS)
    def send(self, who: int, kind: MessageKind) -> None:
        person = self.people[who]
        self.counter += 1
        key = f"rules:{person.member_id}:{self.counter}"
        delivery = self.run(messages.send(person.member_id, kind, VARIABLES, key, now=self.clock))
        self.expected[delivery.id] = self.predict(person, kind)
        self.events[(who, key)] = delivery.id

    @rule(data=st.data())
    def repeat(self, data: st.DataObject) -> None:
        if not self.events:
            return
        (who, key) = data.draw(st.sampled_from(sorted(self.events)))
        person = self.people[who]
        kind = MessageKind(self.run(MessageDelivery.get(id=self.events[(who, key)])).kind)
        again = self.run(messages.send(person.member_id, kind, VARIABLES, key, now=self.clock))
        assert again.id == self.events[(who, key)]

    @rule(who=WHO, marketing=st.booleans())
    def consent(self, who: int, marketing: bool) -> None:
        person = self.people[who]
        self.run(Member.filter(id=person.member_id).update(marketing=marketing))
        person.marketing = marketing

    @rule(who=WHO, kinds=st.sets(st.sampled_from(messages.optional_kinds()), max_size=3))
    def opt_out(self, who: int, kinds: set[MessageKind]) -> None:
        person = self.people[who]
        self.run(messages.set_opted_out(person.member_id, kinds))
        person.opted_out = set(kinds)

    @rule(hours=st.integers(1, 12))
    def time_passes(self, hours: int) -> None:
        self.clock += timedelta(hours=hours)

    @invariant()
    def deliveries_match_the_model(self) -> None:
        if not self.people:
            return
        ids = [p.member_id for p in self.people]
        rows = self.run(MessageDelivery.filter(member_id__in=ids).values_list("id", "status", "reason"))
        assert {int(i): (DeliveryStatus(s), r) for i, s, r in rows} == self.expected
        stored = self.run(MessageOptOut.filter(member_id__in=ids).count())
        assert stored == sum(len(p.opted_out) for p in self.people)


async def test_delivery_rules_match_a_model_under_random_operations(client: httpx.AsyncClient) -> None:
    app_settings = get_settings()
    saved = (
        app_settings.message_daily_cap,
        app_settings.message_weekly_cap,
        app_settings.message_quiet_start_hour,
        app_settings.message_quiet_end_hour,
    )
    app_settings.message_daily_cap, app_settings.message_weekly_cap = DAILY, WEEKLY
    app_settings.message_quiet_start_hour, app_settings.message_quiet_end_hour = 21, 8
    RulesMachine.loop = asyncio.get_running_loop()
    try:
        await asyncio.to_thread(
            run_state_machine_as_test,
            RulesMachine,
            settings=settings(
                max_examples=25,
                stateful_step_count=40,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        (
            app_settings.message_daily_cap,
            app_settings.message_weekly_cap,
            app_settings.message_quiet_start_hour,
            app_settings.message_quiet_end_hour,
        ) = saved
