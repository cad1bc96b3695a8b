"""Migration operations Tortoise does not generate: dialect-specific SQL such as append-only triggers.

Use them in hand-edited migrations: `operations = [..., append_only("loyalty_entry")]`.
"""

from __future__ import annotations

import re
from typing import Any

from tortoise.migrations.constraints import CheckConstraint
from tortoise.migrations.operations import AlterField, RunPython


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


def check_constraints(app_label: str, *model_names: str) -> RunPython:
    """Create the CHECK constraints declared in these models' `Meta.constraints`.

    Tortoise 1.1's CreateModel leaves them out of CREATE TABLE. PostgreSQL gets real CHECK
    constraints. SQLite cannot add one to an existing table without rebuilding it (which would lose
    its indexes and triggers), so it gets BEFORE INSERT and BEFORE UPDATE triggers that abort a
    violating row the same way.
    """

    def checks(apps: Any) -> list[tuple[Any, CheckConstraint]]:
        found = []
        for name in model_names:
            model = apps.get_model(app_label, name)
            found += [(model, c) for c in model._meta.constraints if isinstance(c, CheckConstraint)]
        return found

    def on_new_row(model: Any, expression: str) -> str:
        columns = sorted(model._meta.fields_db_projection.values(), key=len, reverse=True)
        pattern = re.compile(r"(?<![\w.'\"])(" + "|".join(map(re.escape, columns)) + r")(?![\w'\"])")
        return pattern.sub(lambda m: f'NEW."{m.group(1)}"', expression)

    async def forward(apps: Any, schema_editor: Any) -> None:
        for model, check in checks(apps):
            if schema_editor.client.capabilities.dialect != "sqlite":
                await schema_editor.add_constraint(model, check)
                continue
            table, condition = model._meta.db_table, on_new_row(model, check.check)
            abort = f"SELECT RAISE(ABORT, 'CHECK constraint failed: {check.name}');"
            for event in ("INSERT", "UPDATE"):
                await schema_editor.client.execute_script(
                    f'CREATE TRIGGER "{check.name}_{event.lower()}" BEFORE {event} ON "{table}" '
                    f"WHEN NOT ({condition}) BEGIN {abort} END;"
                )

    async def backward(apps: Any, schema_editor: Any) -> None:
        for model, check in checks(apps):
            if schema_editor.client.capabilities.dialect != "sqlite":
                await schema_editor.remove_constraint(model, check)
                continue
            for event in ("insert", "update"):
                await schema_editor.client.execute_script(f'DROP TRIGGER "{check.name}_{event}";')

    return RunPython(forward, backward)


class AlterFieldState(AlterField):
    """An AlterField that changes only the migration state: for changes with no schema effect, such as a
    new value of a CharEnumField (SQLite's AlterField rebuilds the table and loses its indexes)."""

    async def database_forward(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to change in the database."""

    async def database_backward(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to change in the database."""
