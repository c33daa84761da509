"""Many rows into one table in one statement whose SQL does not depend on how many there are.

On PostgreSQL the rows travel as one JSON document and the statement is
``INSERT INTO t (a, b) SELECT a, b FROM jsonb_to_recordset(:rows) AS r(a text, b bigint)``:
its text is the same for 3 rows or 3,000, so it is built, parsed and planned once instead of
once per batch (a multi-row VALUES list of 30,000 parameters costs more to render and parse
than to execute), and the rows are serialised by ``orjson`` in one call (an array per
column costs psycopg a regular-expression escape per text element). SQLite takes the rows as
an executemany, which its driver runs without any SQL text per row.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Table, Text, bindparam, cast, column, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Result
from sqlalchemy.ext.asyncio import AsyncSession

OnConflict = Sequence[str] | None


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    skip_conflicts_on: OnConflict = None,
    add_on_conflict: tuple[str, Sequence[str]] | None = None,
    returning: Sequence[str] = (),
) -> Result[Any] | None:
    """Insert ``rows`` (dicts with the same keys); ``skip_conflicts_on`` names the unique
    columns whose duplicates are left out (ON CONFLICT DO NOTHING); ``add_on_conflict``, as
    ``(key column, counter columns)``, adds a duplicate's counters to the row there instead;
    ``returning`` names the columns to read back from the rows written. None when ``rows`` is
    empty."""
    if not rows:
        return None
    dialect = session.bind.dialect
    postgres = dialect.name == "postgresql"
    stmt = _statement(
        table,
        tuple(rows[0]),
        postgres=dialect if postgres else None,
        skip_conflicts_on=None if skip_conflicts_on is None else tuple(skip_conflicts_on),
        add_on_conflict=None
        if add_on_conflict is None
        else (add_on_conflict[0], tuple(add_on_conflict[1])),
        returning=tuple(returning),
    )
    if postgres:
        # Times pass through to _json_value, which refuses a naive one rather than guess.
        document = orjson.dumps(
            rows, default=_json_value, option=orjson.OPT_PASSTHROUGH_DATETIME
        ).decode()
        connection = await session.connection()
        return await connection.exec_driver_sql(stmt, {"rows": document})
    return await session.execute(stmt, list(rows))


@functools.lru_cache(maxsize=256)
def _statement(
    table: Table,
    columns: tuple[str, ...],
    *,
    postgres: Dialect | None,
    skip_conflicts_on: tuple[str, ...] | None,
    add_on_conflict: tuple[str, tuple[str, ...]] | None,
    returning: tuple[str, ...],
) -> Any:
    # Built once per table, columns and options: building the construct and its cache key
    # cost about a millisecond, more than an API command's whole insert. On PostgreSQL it is
    # also compiled here, once: SQLAlchemy's compiled cache skips the dialect's INSERT (its
    # cache key is None), which would otherwise cost a compilation per execution.
    stmt: Any = (
        postgresql.insert(table).from_select(columns, _recordset(table, columns))
        if postgres is not None
        else sqlite.insert(table)
    )
    if skip_conflicts_on is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on) or None)
    if add_on_conflict is not None:
        key, counters = add_on_conflict
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_={name: table.c[name] + stmt.excluded[name] for name in counters},
        )
    if returning:
        stmt = stmt.returning(*(table.c[name] for name in returning))
    if postgres is not None:
        # The driver's own SQL text (psycopg's %(rows)s parameter), run by exec_driver_sql.
        return str(stmt.compile(dialect=postgres))
    return stmt


def _recordset(table: Table, columns: tuple[str, ...]) -> Any:
    # The record's column list declares each column's type, so that PostgreSQL parses the
    # JSON values into them (times, dates, JSON documents) as it would bound parameters.
    records = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=Text), postgresql.JSONB))
        .table_valued(*(column(name, table.c[name].type) for name in columns))
        .render_derived(with_types=True)
    )
    return select(*(records.c[name] for name in columns))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime written to a UTC column")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written as a JSON value")
