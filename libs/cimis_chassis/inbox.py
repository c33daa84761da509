"""The inbox: a consumer records each event id in the same transaction as its effects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def claim_event(
    session: AsyncSession,
    inbox: Table,
    *,
    consumer: str,
    event_id: str,
    event_type: str,
    received_at: datetime,
) -> bool:
    """Record that ``consumer`` handles ``event_id``; False means it was handled before.

    ON CONFLICT DO NOTHING rather than catching an IntegrityError, which would abort the
    surrounding PostgreSQL transaction together with the rest of a batch.
    """
    values = {
        "consumer": consumer,
        "event_id": event_id,
        "event_type": event_type,
        "received_at": received_at,
    }
    dialect = session.bind.dialect.name
    stmt = (
        pg_insert(inbox).values(values)
        if dialect == "postgresql"
        else sqlite_insert(inbox).values(values)
    ).on_conflict_do_nothing()
    # RETURNING, not rowcount: SQLAlchemy reports -1 for a Core INSERT on psycopg, whether or
    # not the conflict clause skipped the row.
    result = await session.execute(stmt.returning(inbox.c.event_id))
    return result.first() is not None
