"""The inbox: a consumer records each event id in the same transaction as its effects."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows
from cimis_chassis.memory import MemoryRepository


async def claim_events(
    session: AsyncSession,
    inbox: Table,
    *,
    consumer: str,
    events: list[tuple[str, str]],
    received_at: datetime,
) -> set[str]:
    """Claim a batch of ``(event id, type)`` in one statement; returns the ids seen first now.

    ON CONFLICT DO NOTHING rather than catching an IntegrityError, which would abort the
    surrounding PostgreSQL transaction together with the rest of a batch. RETURNING, not
    rowcount: SQLAlchemy reports -1 for a Core INSERT on psycopg, whether or not the conflict
    clause skipped the row.
    """
    unique = dict(events)
    if not unique:
        return set()
    rows = [
        {"consumer": consumer, "event_id": eid, "event_type": etype, "received_at": received_at}
        for eid, etype in unique.items()
    ]
    claimed = await insert_rows(session, inbox, rows, skip_conflicts_on=(), returning=["event_id"])
    assert claimed is not None
    return set(claimed.scalars())


class Inbox(Protocol):
    """The events a consumer has applied, claimed in the transaction that applies them."""

    async def claim(
        self, consumer: str, events: list[tuple[str, str]], *, received_at: datetime
    ) -> set[str]:
        """Claim ``(event id, type)`` pairs; returns the ids not claimed before."""
        ...


class SqlInbox:
    def __init__(self, session: AsyncSession, table: Table) -> None:
        self._session = session
        self._table = table

    async def claim(
        self, consumer: str, events: list[tuple[str, str]], *, received_at: datetime
    ) -> set[str]:
        return await claim_events(
            self._session, self._table, consumer=consumer, events=events, received_at=received_at
        )


class MemoryInbox(MemoryRepository):
    def __init__(self) -> None:
        self.claimed: set[tuple[str, str]] = set()

    async def claim(
        self, consumer: str, events: list[tuple[str, str]], *, received_at: datetime
    ) -> set[str]:
        fresh = {eid for eid, _ in events if (consumer, eid) not in self.claimed}
        self.claimed.update((consumer, eid) for eid in fresh)
        return fresh
