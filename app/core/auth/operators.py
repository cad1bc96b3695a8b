"""Bank operators: login, creation, role changes and deactivation (every write audited)."""

from __future__ import annotations

from app.core import audit
from app.core.auth.deps import OperatorRole
from app.core.auth.passwords import MIN_LENGTH, hash_password, verify_password
from app.core.auth.sessions import TokenPair, open_session, revoke_principal
from app.core.auth.tokens import Audience, Principal
from app.core.db import transaction
from app.core.errors import Conflict, InvalidField, NotFound, Unauthorized
from app.core.models import Operator

LAST_ADMIN = "operator.last_admin"


def _snapshot(op: Operator) -> dict[str, object]:
    return {"username": op.username, "roles": sorted(op.roles), "is_active": op.is_active}


def _is_active_admin(snapshot: dict[str, object]) -> bool:
    roles = snapshot["roles"]
    return bool(snapshot["is_active"]) and isinstance(roles, list) and OperatorRole.ADMIN.value in roles


async def login(username: str, password: str) -> TokenPair:
    """Check an operator's password and open a session."""
    operator = await Operator.get_or_none(username=username)
    ok = await verify_password(operator.password_hash if operator else None, password)
    if operator is None or not ok or not operator.is_active:
        raise Unauthorized("wrong username or password", code="auth.bad_credentials")
    return await open_session(Audience.OPERATOR, operator.id, roles=tuple(operator.roles))


async def create_operator(
    actor: Principal | None, username: str, password: str, roles: list[OperatorRole], display_name: str = ""
) -> Operator:
    """Create an operator (the CLI bootstraps the first admin with actor None)."""
    if len(password) < MIN_LENGTH:
        raise InvalidField("password", f"at least {MIN_LENGTH} characters")
    password_hash = await hash_password(password)
    async with transaction():
        if await Operator.exists(username=username):
            raise Conflict(f"operator {username} exists", code="operator.exists")
        operator = await Operator.create(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            roles=sorted({r.value for r in roles}),
        )
        await audit.record(actor, "operator.create", "operator", operator.id, after=_snapshot(operator))
    return operator


async def update_operator(
    actor: Principal, operator_id: int, *, roles: list[OperatorRole] | None, is_active: bool | None
) -> Operator:
    """Change roles or deactivate; existing sessions end so the change applies at once.

    Refused (409 `operator.last_admin`) when it would leave no active admin: the last one cannot
    demote or deactivate themselves, and nobody else could restore them.
    """
    async with transaction():
        # Every active operator's row is locked, so two admins demoting each other at once take turns
        # and the second finds it would leave nobody to administer the platform.
        active = await Operator.filter(is_active=True).select_for_update().order_by("id")
        operator = next((op for op in active if op.id == operator_id), None)
        operator = operator or await Operator.get_or_none(id=operator_id)
        if operator is None:
            raise NotFound("operator not found")
        before = _snapshot(operator)
        if roles is not None:
            operator.roles = sorted({r.value for r in roles})
        if is_active is not None:
            operator.is_active = is_active
        others = any(_is_active_admin(_snapshot(op)) for op in active if op.id != operator.id)
        if _is_active_admin(before) and not _is_active_admin(_snapshot(operator)) and not others:
            raise Conflict(
                "the last active admin cannot give up the admin role or be deactivated", code=LAST_ADMIN
            )
        await operator.save()
        await audit.record(
            actor, "operator.update", "operator", operator.id, before=before, after=_snapshot(operator)
        )
    await revoke_principal(Audience.OPERATOR, operator.id)
    return operator


async def change_password(actor: Principal, current: str, new: str) -> None:
    """An operator changes their own password; every session of theirs ends."""
    operator = await Operator.get(id=actor.id)
    if not await verify_password(operator.password_hash, current):
        raise Unauthorized("current password is wrong", code="auth.bad_credentials")
    if len(new) < MIN_LENGTH:
        raise InvalidField("new_password", f"at least {MIN_LENGTH} characters")
    operator.password_hash = await hash_password(new)
    async with transaction():
        await operator.save(update_fields=["password_hash"])
        await audit.record(actor, "operator.password_change", "operator", operator.id)
    await revoke_principal(Audience.OPERATOR, operator.id)
