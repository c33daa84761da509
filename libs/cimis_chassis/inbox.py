"""The inbox: a consumer records each event id in the same transaction as its effects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.upsert import conflict_insert


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
    fresh = await claim_events(
        session, inbox, consumer=consumer, events=[(event_id, event_type)], received_at=received_at
    )
    return event_id in fresh


async def claim_events(
    session: AsyncSession,
    inbox: Table,
    *,
    consumer: str,
    events: list[tuple[str, str]],
    received_at: datetime,
) -> set[str]:
    """Claim a batch of ``(event id, type)`` in one statement; returns the ids seen first now.

    RETURNING, not rowcount: SQLAlchemy reports -1 for a Core INSERT on psycopg, whether or
    not the conflict clause skipped the row.
    """
    unique = dict(events)
    if not unique:
        return set()
    rows = [
        {"consumer": consumer, "event_id": eid, "event_type": etype, "received_at": received_at}
        for eid, etype in unique.items()
    ]
    stmt = (
        conflict_insert(session, inbox)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )
    return set((await session.execute(stmt)).scalars())
