"""The core's queries: operators, the audit log and dead jobs (routers call these, never the ORM)."""

from __future__ import annotations

from datetime import datetime

from tortoise.queryset import QuerySet

from app.core.errors import NotFound
from app.core.models import AuditEntry, AuthSession, DeadJob, Operator
from app.core.timeutil import utcnow


async def active_operator(operator_id: int) -> Operator | None:
    """The operator, if still active."""
    return await Operator.get_or_none(id=operator_id, is_active=True)


async def operator(operator_id: int) -> Operator:
    """One operator (the caller's own record)."""
    return await Operator.get(id=operator_id)


async def session_alive(session_id: str, audience: str) -> bool:
    """Whether a login session exists, is not revoked and has not expired."""
    return await AuthSession.exists(
        id=session_id, audience=audience, revoked_at__isnull=True, expires_at__gt=utcnow()
    )


def operators() -> QuerySet[Operator]:
    """Every operator."""
    return Operator.all()


def audit_entries(
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    actor_type: str | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
) -> QuerySet[AuditEntry]:
    """Audit entries matching every filter given."""
    filters = {
        "target_type": target_type,
        "target_id": target_id,
        "actor_type": actor_type,
        "actor_id": actor_id,
        "action": action,
        "created_at__gte": since,
    }
    return AuditEntry.filter(**{k: v for k, v in filters.items() if v is not None})


def dead_jobs() -> QuerySet[DeadJob]:
    """Every dead job."""
    return DeadJob.all()


async def dead_job(dead_id: int) -> DeadJob:
    """One dead job; 404 if unknown."""
    row = await DeadJob.get_or_none(id=dead_id)
    if row is None:
        raise NotFound("dead job not found")
    return row
