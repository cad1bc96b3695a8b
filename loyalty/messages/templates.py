"""Message kinds: their category (what rules apply), their template and its variables."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.core.errors import InvalidField
from loyalty.models import MessageKind

MAX_VARIABLE_LENGTH = 200


class Category(StrEnum):
    """Which rules apply: consent and quiet hours to promotional, caps to nudges and promotional."""

    SERVICE = "service"  # about something the member did (a refund): always sent
    REQUESTED = "requested"  # the member asked for it (remind me, bill reminders)
    NUDGE = "nudge"  # the platform's reminders (points or vouchers about to lapse)
    PROMOTIONAL = "promotional"  # offers and broadcasts: marketing consent and quiet hours


@dataclass(frozen=True)
class Template:
    """The text of a kind, with `{variable}` placeholders."""

    category: Category
    title: str
    body: str

    @property
    def variables(self) -> list[str]:
        """The variable names the template needs, in order of first use."""
        names = [
            name
            for text in (self.title, self.body)
            for _, name, _, _ in string.Formatter().parse(text)
            if name
        ]
        return list(dict.fromkeys(names))


TEMPLATES: dict[MessageKind, Template] = {
    MessageKind.FLASH_REMINDER: Template(
        Category.REQUESTED, "{campaign} opens soon", "{campaign} opens at {opens_at}: be ready to grab."
    ),
    MessageKind.POINTS_EXPIRING: Template(
        Category.NUDGE, "Points about to expire", "{points} points expire on {expires_on}: spend them first."
    ),
    MessageKind.VOUCHER_EXPIRING: Template(
        Category.NUDGE, "Voucher about to expire", "Your voucher {benefit} expires on {expires_on}."
    ),
    MessageKind.CAMPAIGN_NEARBY: Template(
        Category.PROMOTIONAL, "New near you: {campaign}", "{campaign} at {store}, near your home."
    ),
    MessageKind.BILL_REMINDER: Template(
        Category.REQUESTED, "{account}: {biller}", "{account} ({mask}): {due}."
    ),
    MessageKind.BILL_PAID: Template(
        Category.SERVICE,
        "Bill paid",
        "Your payment of {amount} to {biller} was confirmed. Receipt {receipt}.{points}",
    ),
    MessageKind.BILL_REFUNDED: Template(
        Category.SERVICE,
        "Bill payment refunded",
        "Your payment to {biller} failed: {reason} {amount} was refunded.",
    ),
    MessageKind.REFERRAL_REWARD: Template(
        Category.SERVICE, "Referral reward", "Your friend's first visit earned you {reward} ({campaign})."
    ),
    MessageKind.BROADCAST: Template(Category.PROMOTIONAL, "{title}", "{body}"),
}

CAPPED = frozenset({Category.NUDGE, Category.PROMOTIONAL})


def category_of(kind: MessageKind) -> Category:
    """The category of a kind."""
    return TEMPLATES[kind].category


def capped_kinds() -> list[MessageKind]:
    """The kinds the daily and weekly caps count."""
    return [kind for kind, template in TEMPLATES.items() if template.category in CAPPED]


def optional_kinds() -> list[MessageKind]:
    """The kinds a member may opt out of (all but service messages)."""
    return [kind for kind, template in TEMPLATES.items() if template.category is not Category.SERVICE]


def render(kind: MessageKind, variables: Mapping[str, Any], field: str = "variables") -> tuple[str, str]:
    """Title and body of a kind with its variables (422 `message.missing_variable` naming a missing one)."""
    template = TEMPLATES[kind]
    values: dict[str, str] = {}
    for name in template.variables:
        value = variables.get(name)
        if value is None:
            raise InvalidField(
                f"{field}.{name}", f"the template needs `{name}`", code="message.missing_variable"
            )
        values[name] = str(value)[:MAX_VARIABLE_LENGTH]
    # Values are substituted once: a `{…}` inside a value is text, never another placeholder.
    return template.title.format_map(values)[:128], template.body.format_map(values)
