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


def _snapshot(op: Operator) -> dict[str, object]:
    return {"username": op.username, "roles": sorted(op.roles), "is_active": op.is_active}


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
    """Change roles or deactivate; existing sessions end so the change applies at once."""
    async with transaction():
        operator = await Operator.get_or_none(id=operator_id)
        if operator is None:
            raise NotFound("operator not found")
        before = _snapshot(operator)
        if roles is not None:
            operator.roles = sorted({r.value for r in roles})
        if is_active is not None:
            operator.is_active = is_active
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
