"""The append-only audit log: who did what, when, with the state before and after."""

from __future__ import annotations

from typing import Any

from app.core.auth.tokens import Principal
from app.core.db import db
from app.core.logs import request_id_var
from app.core.models import AuditEntry


async def record(
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: object | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an audit entry in the caller's transaction (so it commits or rolls back with the write)."""
    return await AuditEntry.create(
        actor_type=actor.audience.value if actor else "system",
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
        request_id=request_id_var.get(),
        using_db=db(),
    )
