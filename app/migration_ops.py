"""Migration operations Tortoise does not generate: dialect-specific SQL such as append-only triggers.

Use them in hand-edited migrations: `operations = [..., append_only("loyalty_entry")]`.
"""

from __future__ import annotations

from typing import Any

from tortoise.migrations.operations import RunPython


def per_dialect(
    *, postgres: str, sqlite: str, reverse_postgres: str = "", reverse_sqlite: str = ""
) -> RunPython:
    """Run one SQL script on PostgreSQL and another on SQLite (scripts may contain `;`)."""

    def pick(forward: bool) -> Any:
        async def run(_apps: Any, schema_editor: Any) -> None:
            dialect = schema_editor.client.capabilities.dialect
            sql = (
                (postgres if forward else reverse_postgres)
                if dialect == "postgres"
                else (sqlite if forward else reverse_sqlite)
            )
            if sql:
                await schema_editor.client.execute_script(sql)

        return run

    return RunPython(pick(True), pick(False))


_PG_REFUSE = """
CREATE OR REPLACE FUNCTION linli_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
"""


def append_only(table: str) -> RunPython:
    """Make the database refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL) of a table's rows."""
    return per_dialect(
        postgres=_PG_REFUSE
        + f"""
CREATE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}"
  FOR EACH ROW EXECUTE FUNCTION linli_refuse_change();
CREATE TRIGGER "{table}_no_truncate" BEFORE TRUNCATE ON "{table}"
  FOR EACH STATEMENT EXECUTE FUNCTION linli_refuse_change();
""",
        sqlite=f"""
CREATE TRIGGER "{table}_no_update" BEFORE UPDATE ON "{table}"
  BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;
CREATE TRIGGER "{table}_no_delete" BEFORE DELETE ON "{table}"
  BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;
""",
        reverse_postgres=(
            f'DROP TRIGGER "{table}_append_only" ON "{table}"; '
            f'DROP TRIGGER "{table}_no_truncate" ON "{table}";'
        ),
        reverse_sqlite=f'DROP TRIGGER "{table}_no_update"; DROP TRIGGER "{table}_no_delete";',
    )
