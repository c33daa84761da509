"""Deliveries in the database: new ones written at the flush, claims and outcomes at once.

A claim or an outcome is a conditional UPDATE whose row count is the answer (was the claim
still ours?), so those run when called; they are the delivery worker's, not the consumer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows
from services.notify.adapters.rows import (
    delivery_of,
    delivery_values,
    notification_of,
    quiet_hours_of,
)
from services.notify.adapters.sql_repositories import SqlNotifications
from services.notify.adapters.tables import agents, deliveries, notifications
from services.notify.app.ports import DueDelivery
from services.notify.domain.delivery import PENDING
from services.notify.domain.notifications import Delivery


class SqlDeliveries:
    def __init__(self, session: AsyncSession, notifications_of_unit: SqlNotifications) -> None:
        self._session = session
        # Written first whenever this store writes: a delivery's row refers to its notification.
        self._notifications = notifications_of_unit
        self._new: list[Delivery] = []
        self.written = 0  # deliveries this unit wrote: a commit with any wakes the worker

    async def add(self, planned: Sequence[Delivery]) -> None:
        self._new.extend(planned)

    async def of(self, notification_ids: Sequence[str]) -> dict[str, list[Delivery]]:
        await self._write_pending()
        found: dict[str, list[Delivery]] = {i: [] for i in notification_ids}
        if notification_ids:
            rows = (
                await self._session.execute(
                    select(deliveries)
                    .where(deliveries.c.notification_id.in_(notification_ids))
                    .order_by(deliveries.c.notification_id, deliveries.c.id)
                )
            ).all()
            for row in rows:
                found[row.notification_id].append(delivery_of(row))
        return found

    async def claim_due(
        self, *, holder: str, now: datetime, until: datetime, limit: int
    ) -> list[DueDelivery]:
        """The conditional UPDATE is the claim.

        A row another instance claimed since our SELECT no longer matches (PostgreSQL
        re-checks the WHERE after the row lock, SQLite runs one writer at a time), so no
        delivery is ever held by two instances at once.
        """
        await self._write_pending()
        free = and_(
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
            or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        )
        candidates = (
            (
                await self._session.execute(
                    select(deliveries.c.id)
                    .where(free)
                    .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
                    .limit(limit)
                    # PostgreSQL: concurrent claimers pick disjoint rows instead of queueing
                    # on the same ones (SQLite has a single writer and ignores this).
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        if not candidates:
            return []
        await self._session.execute(
            update(deliveries)
            .where(and_(deliveries.c.id.in_(candidates), free))
            .values(claimed_by=holder, claimed_until=until)
        )
        rows = (
            await self._session.execute(
                select(deliveries, notifications, agents.c.quiet_start, agents.c.quiet_end)
                .select_from(
                    deliveries.join(
                        notifications, notifications.c.id == deliveries.c.notification_id
                    ).outerjoin(agents, agents.c.id == notifications.c.recipient)
                )
                .where(and_(deliveries.c.id.in_(candidates), deliveries.c.claimed_by == holder))
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            )
        ).all()
        return [
            DueDelivery(
                delivery=delivery_of(row),
                notification=notification_of(row),
                quiet_hours=quiet_hours_of(row.quiet_start, row.quiet_end),
            )
            for row in rows
        ]

    async def settle(self, delivery_id: int, *, holder: str, **values: Any) -> bool:
        await self._write_pending()
        result = await self._session.execute(
            update(deliveries)
            .where(
                and_(
                    deliveries.c.id == delivery_id,
                    deliveries.c.claimed_by == holder,
                    deliveries.c.status == PENDING,
                )
            )
            .values(claimed_by=None, claimed_until=None, **values)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def release(self, delivery_ids: Sequence[int], *, holder: str) -> None:
        await self._write_pending()
        if delivery_ids:
            await self._session.execute(
                update(deliveries)
                .where(and_(deliveries.c.id.in_(delivery_ids), deliveries.c.claimed_by == holder))
                .values(claimed_by=None, claimed_until=None)
            )

    async def flush(self) -> None:
        new, self._new = self._new, []
        if new:
            await insert_rows(self._session, deliveries, [delivery_values(d) for d in new])
            self.written += len(new)

    async def _write_pending(self) -> None:
        # Queries see what this unit added, as an ORM's autoflush would show it.
        await self._notifications.flush()
        await self.flush()
