"""Rows of one table in a unit of work: each read once, each written once, at the flush.

A batch of events reads the rows it needs with :meth:`RowStore.load` (one query, locked when
they will change), the handlers then get and put entities in memory in event order, and
:meth:`RowStore.flush` writes the new rows with one multi-row INSERT and the changed ones with
one executemany UPDATE. Queries other than by key flush first, as an ORM's autoflush would, so
that they see what this unit changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows

E = TypeVar("E")

_MISSING: Any = object()
# Keys per IN (...) list: well inside SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500


class RowStore(Generic[E]):
    """Entities ``E`` kept in ``table`` under the single-column primary key ``key``.

    ``to_row`` gives every column of an entity (the key included) and ``from_row`` builds one
    from a row; columns only written once (a creation time) come as ``extra`` to :meth:`add`.
    """

    def __init__(
        self,
        session: AsyncSession,
        table: Table,
        *,
        key: str,
        to_row: Callable[[E], dict[str, Any]],
        from_row: Callable[[Row[Any]], E],
    ) -> None:
        self.session = session
        self.table = table
        self._key = key
        self._to_row = to_row
        self._from_row = from_row
        self._entities: dict[str, E | None] = {}
        self._locked: set[str] = set()
        self._new: dict[str, dict[str, Any]] = {}
        self._changed: set[str] = set()

    async def load(self, keys: Iterable[str], *, lock: bool = False) -> None:
        """Read the rows of ``keys`` not read yet (or not yet locked, when ``lock``)."""
        wanted = [
            k
            for k in dict.fromkeys(keys)
            if k not in self._new
            and k not in self._changed
            and (k not in self._entities or (lock and k not in self._locked))
        ]
        query = _reading(self.table, self._key, lock=lock)
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            rows = (await self.session.execute(query, {"keys": chunk})).all()
            found = {getattr(r, self._key): r for r in rows}
            for k in chunk:
                row = found.get(k)
                self._entities[k] = None if row is None else self._from_row(row)
            if lock:
                self._locked.update(chunk)

    async def get(self, key: str, *, lock: bool = False) -> E | None:
        await self.load([key], lock=lock)
        return self._entities.get(key)

    def add(self, key: str, entity: E, **extra: Any) -> None:
        """A new row, inserted at the flush; ``extra`` holds columns ``to_row`` does not."""
        if self._entities.get(key, None) is not None:
            raise ValueError(f"{self.table.name} {key} exists already")
        self._entities[key] = entity
        self._new[key] = extra

    def put(self, key: str, entity: E) -> None:
        """The new state of a row read or added in this unit."""
        if self._entities.get(key, _MISSING) in (None, _MISSING):
            raise KeyError(f"{self.table.name} {key} was not read in this unit of work")
        self._entities[key] = entity
        if key not in self._new:
            self._changed.add(key)

    async def select_where(self, query: Select[Any]) -> list[E]:
        """Entities of a query on this table, as the database has them now.

        This unit's changes are flushed first, so the rows read are this unit's latest;
        they replace what was read earlier, which a lock taken by ``query`` may have made
        stale.
        """
        await self.flush()
        result: list[E] = []
        for row in (await self.session.execute(query)).all():
            entity = self._from_row(row)
            self._entities[getattr(row, self._key)] = entity
            result.append(entity)
        return result

    async def flush(self) -> None:
        if self._new:
            await insert_rows(
                self.session,
                self.table,
                [
                    {**self._to_row(entity), **extra}
                    for k, extra in self._new.items()
                    if (entity := self._entities[k]) is not None
                ],
            )
            self._new.clear()
        if self._changed:
            rows = []
            for k in sorted(self._changed):
                entity = self._entities[k]
                assert entity is not None
                values = self._to_row(entity)
                values["_key"] = values.pop(self._key)
                rows.append(values)
            await self.session.execute(_updating(self.table, self._key), rows)
            self._changed.clear()


# The statements are built once per table: building one costs more than a small unit's query.


@functools.lru_cache(maxsize=256)
def _reading(table: Table, key: str, *, lock: bool) -> Select[Any]:
    column = table.c[key]
    # In key order, so that two instances locking overlapping batches cannot deadlock.
    query = select(table).where(column.in_(bindparam("keys", expanding=True))).order_by(column)
    return query.with_for_update() if lock else query


@functools.lru_cache(maxsize=256)
def _updating(table: Table, key: str) -> Any:
    # Executed for every row: the SET clause comes from the rows' keys.
    return update(table).where(table.c[key] == bindparam("_key"))
