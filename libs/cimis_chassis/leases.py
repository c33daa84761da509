"""Named, expiring work leases in the database: one instance at a time runs a singleton job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, and_, insert, or_, update
from sqlalchemy.exc import IntegrityError

from cimis_chassis.database import Database


async def acquire_lease(
    db: Database, leases: Table, *, name: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False while another holder's is live.

    One conditional UPDATE decides atomically on both SQLite and PostgreSQL, so two instances
    can never both believe they hold it (clock skew aside, which the ttl absorbs).
    """
    expires_at = now + ttl
    async with db.transaction() as session:
        result = await session.execute(
            update(leases)
            .where(
                and_(
                    leases.c.name == name,
                    or_(leases.c.holder == holder, leases.c.expires_at < now),
                )
            )
            .values(holder=holder, expires_at=expires_at)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return True
    try:
        async with db.transaction() as session:
            await session.execute(
                insert(leases).values(name=name, holder=holder, expires_at=expires_at)
            )
        return True
    except IntegrityError:
        return False


async def release_lease(db: Database, leases: Table, *, name: str, holder: str) -> None:
    """Give the lease up at shutdown so another instance need not wait for it to expire."""
    async with db.transaction() as session:
        await session.execute(
            update(leases)
            .where(and_(leases.c.name == name, leases.c.holder == holder))
            .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
        )
