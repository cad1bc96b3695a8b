"""The campaign lifecycle as a table: which action moves which status where, and who may trigger it."""

from __future__ import annotations

from enum import StrEnum

from campaigns.models import CampaignStatus as S


class Action(StrEnum):
    """Everything that changes a campaign's status (or its configuration)."""

    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"
    CANCEL = "cancel"


TRANSITIONS: dict[tuple[S, Action], S] = {
    (S.DRAFT, Action.EDIT): S.DRAFT,
    (S.DRAFT, Action.SUBMIT): S.PENDING_APPROVAL,
    (S.DRAFT, Action.CANCEL): S.CANCELLED,
    (S.PENDING_APPROVAL, Action.EDIT): S.PENDING_APPROVAL,
    (S.PENDING_APPROVAL, Action.APPROVE): S.APPROVED,
    (S.PENDING_APPROVAL, Action.REJECT): S.DRAFT,
    (S.PENDING_APPROVAL, Action.CANCEL): S.CANCELLED,
    # Editing an approved campaign sends it back for approval.
    (S.APPROVED, Action.EDIT): S.PENDING_APPROVAL,
    (S.APPROVED, Action.START): S.LIVE,
    (S.APPROVED, Action.CANCEL): S.CANCELLED,
    (S.APPROVED, Action.END): S.ENDED,
    (S.LIVE, Action.PAUSE): S.PAUSED,
    (S.LIVE, Action.END): S.ENDED,
    (S.PAUSED, Action.RESUME): S.LIVE,
    (S.PAUSED, Action.END): S.ENDED,
}

TERMINAL = frozenset({S.ENDED, S.CANCELLED})
# Members see these (and ended ones by id); drafts and pending campaigns are invisible to them.
PUBLISHED = frozenset({S.APPROVED, S.LIVE, S.PAUSED, S.ENDED})
# The flash engine keeps these loaded in Redis.
RUNNING = frozenset({S.APPROVED, S.LIVE, S.PAUSED})


def next_status(status: S, action: Action) -> S | None:
    """Where `action` takes a campaign in `status`, or None when it is not allowed."""
    return TRANSITIONS.get((status, action))


def allowed_actions(status: S) -> list[Action]:
    """The actions a campaign in `status` accepts."""
    return [action for (source, action) in TRANSITIONS if source == status]
