"""INSERT ... ON CONFLICT in the session's dialect, for idempotent writes on both databases."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

ConflictInsert = postgresql.Insert | sqlite.Insert


def conflict_insert(session: AsyncSession, table: Table) -> ConflictInsert:
    """An INSERT into ``table`` that takes ``on_conflict_do_nothing`` / ``_do_update``.

    A duplicate is handled by the statement rather than by catching an IntegrityError: on
    PostgreSQL that error aborts the whole transaction, with the rest of a consumer batch.
    Add ``returning(...)`` to learn which rows went in: rowcount is unreliable on psycopg.
    """
    if session.bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
