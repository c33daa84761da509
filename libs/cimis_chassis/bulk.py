"""Many rows into one table in one statement whose SQL does not depend on how many there are.

On PostgreSQL the rows travel as one array per column and the statement is
``INSERT INTO t (a, b) SELECT * FROM unnest(:a, :b)``: its text is the same for 3 rows or
3,000, so it is built, parsed and planned once instead of once per batch (a multi-row VALUES
list of 30,000 parameters costs more to render and parse than to execute). SQLite takes the
rows as an executemany, which its driver runs without any SQL text per row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import sqltypes

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
    columns = list(rows[0])
    if session.bind.dialect.name == "postgresql":
        pg: Any = postgresql.insert(table).from_select(columns, _unnest(table, columns))
        if skip_conflicts_on is not None:
            pg = pg.on_conflict_do_nothing(index_elements=list(skip_conflicts_on) or None)
        if add_on_conflict is not None:
            pg = _adding(pg, table, *add_on_conflict)
        if returning:
            pg = pg.returning(*(table.c[name] for name in returning))
        arrays = {
            f"rows_{name}": [
                json.dumps(row[name]) if _is_json(table, name) else row[name] for row in rows
            ]
            for name in columns
        }
        return await session.execute(pg, arrays)
    lite: Any = sqlite.insert(table)
    if skip_conflicts_on is not None:
        lite = lite.on_conflict_do_nothing(index_elements=list(skip_conflicts_on) or None)
    if add_on_conflict is not None:
        lite = _adding(lite, table, *add_on_conflict)
    if returning:
        lite = lite.returning(*(table.c[name] for name in returning))
    return await session.execute(lite, list(rows))


def _adding(stmt: Any, table: Table, key: str, counters: Sequence[str]) -> Any:
    return stmt.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={name: table.c[name] + stmt.excluded[name] for name in counters},
    )


def _is_json(table: Table, name: str) -> bool:
    return isinstance(table.c[name].type, sqltypes.JSON)


def _unnest(table: Table, columns: list[str]) -> Any:
    arrays: list[ColumnElement[Any]] = []
    for name in columns:
        # A JSON document may be a list itself, which an array would take for a dimension:
        # documents travel as text and are cast back per row.
        item_type = Text() if _is_json(table, name) else table.c[name].type
        array_type = postgresql.ARRAY(item_type)
        arrays.append(cast(bindparam(f"rows_{name}", type_=array_type), array_type))
    # unnest with several arrays zips them into rows, one column per array, named by the
    # derived table's column list.
    unnested = func.unnest(*arrays).table_valued(*columns).render_derived()
    return select(
        *(
            cast(unnested.c[name], table.c[name].type).label(name)
            if _is_json(table, name)
            else unnested.c[name]
            for name in columns
        )
    )
