"""Transaction-long locks on keys that may have no row yet, for units that must not interleave.

A row lock (SELECT ... FOR UPDATE) cannot guard what does not exist: two instances that each
look for the other's row, find none and write their own would both commit, each unaware of
the other (write skew). Locking the key itself first makes the second wait for the first's
commit and then read what it wrote.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

# Hash order, not key order: two units then take shared locks in one order and cannot
# deadlock, even where two keys share a hash.
_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(hashtext(:scope), h)) FROM "
    "(SELECT DISTINCT hashtext(k) AS h FROM unnest(:keys) AS k ORDER BY h) AS ordered"
).bindparams(bindparam("keys", type_=ARRAY(Text)))


class KeyLocks:
    """The keys of one ``scope`` this unit holds until its transaction ends.

    On PostgreSQL, advisory transaction locks; on SQLite nothing is needed, because every
    writing transaction begins IMMEDIATE and so runs alone.
    """

    def __init__(self, session: AsyncSession, scope: str) -> None:
        self._session = session
        self._scope = scope
        self._held: set[str] = set()

    async def lock(self, keys: Iterable[str]) -> None:
        """Wait for and take the locks on ``keys`` not held yet. Take every key a unit needs in
        one call, before it reads what the keys guard."""
        wanted = sorted(set(keys) - self._held)
        if not wanted:
            return
        if self._session.bind.dialect.name == "postgresql":
            await self._session.execute(_LOCK, {"scope": self._scope, "keys": wanted})
        self._held.update(wanted)
