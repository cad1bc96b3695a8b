"""The PostgreSQL backend: Tortoise's asyncpg client, with transactions that survive a dead connection.

Tortoise's pooled transaction takes a connection from the pool, installs the transaction as the task's
current connection and then sends BEGIN. When BEGIN fails (the server terminated the connection: a
restart, a failover, `pg_terminate_backend`), its `__aexit__` never runs: the connection is not given
back and the task keeps the broken transaction as its connection, so every later query of that task
fails with "connection has been released back to the pool" — for a worker's background loop, forever.
Here a failed start undoes both, and the error goes on to the caller (503 at the HTTP boundary).

Named as an engine module (`client_class`), which `app.core.db` puts in the Tortoise configuration.
"""

from __future__ import annotations

import contextlib
from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionalDBClient, TransactionContext, TransactionContextPooled
from tortoise.connection import get_connections

from app.core.faults import connection_lost


async def _renew_pool(pool: Any, exc: BaseException) -> None:
    """After a connection died, replace every pooled one as it is next taken: when the server restarted
    or failed over, its siblings are dead too, and the request after this one must not meet them."""
    if pool is not None and connection_lost(exc):
        await pool.expire_connections()


class _PooledTransaction(TransactionContextPooled):
    """Tortoise's pooled transaction context, cleaning up when the transaction cannot start."""

    async def __aenter__(self) -> TransactionalDBClient:
        try:
            return await super().__aenter__()
        except BaseException as exc:
            token = getattr(self, "token", None)
            if token is not None:
                get_connections().reset(token)
            connection: Any = self.client._connection
            pool = self.client._parent._pool
            if connection is not None and pool is not None:
                # asyncpg's pool closes a connection it cannot reset, and replaces it on the next acquire.
                with contextlib.suppress(Exception):
                    await pool.release(connection)
            await _renew_pool(pool, exc)
            raise

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            await super().__aexit__(exc_type, exc_val, exc_tb)
        except BaseException as exc:
            await _renew_pool(self.client._parent._pool, exc)
            raise
        if exc_val is not None:
            await _renew_pool(self.client._parent._pool, exc_val)


class PostgresClient(AsyncpgDBClient):
    """asyncpg through Tortoise, with `_PooledTransaction`."""

    def _in_transaction(self) -> TransactionContext:
        return _PooledTransaction(TransactionWrapper(self), self._pool_init_lock)

    async def _translate_exceptions(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._translate_exceptions(func, *args, **kwargs)
        except Exception as exc:
            await _renew_pool(self._pool, exc)
            raise


client_class = PostgresClient
