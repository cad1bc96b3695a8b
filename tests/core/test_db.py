"""The service transaction helper nests as savepoints on PostgreSQL and SQLite; hooks run after commit."""

from __future__ import annotations

import pytest

from app.core.db import on_commit, transaction
from app.core.models import AuditEntry


async def make(tag: str) -> None:
    await AuditEntry.create(actor_type="system", action="tx", target_type="test", target_id=tag)


async def tags() -> set[str | None]:
    return set(await AuditEntry.filter(action="tx").values_list("target_id", flat=True))


async def test_nested_transaction_rolls_back_inner_only() -> None:
    ran: list[str] = []

    async def hook(name: str) -> None:
        ran.append(name)

    async with transaction():
        await make("outer")
        on_commit(lambda: hook("outer"))
        with pytest.raises(ValueError):
            async with transaction():
                await make("inner-failed")
                on_commit(lambda: hook("inner-failed"))
                raise ValueError
        async with transaction():
            await make("inner-ok")
            on_commit(lambda: hook("inner-ok"))
        assert ran == []  # nothing runs before the outermost commit
    assert await tags() == {"outer", "inner-ok"}
    assert ran == ["outer", "inner-ok"]


async def test_outer_rollback_discards_everything() -> None:
    ran: list[str] = []

    async def hook() -> None:
        ran.append("x")

    with pytest.raises(KeyError):
        async with transaction():
            async with transaction():
                await make("inner")
                on_commit(hook)
            raise KeyError
    assert await tags() == set()
    assert ran == []


async def test_on_commit_outside_transaction_reports_false() -> None:
    async def hook() -> None:
        return None

    assert on_commit(hook) is False
