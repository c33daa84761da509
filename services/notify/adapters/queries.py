"""Read-only queries for the API's lists and the worker's gauges, on a reading session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.keyset import Page, keyset_page
from services.notify.adapters.rows import agent_of, delivery_of, notification_of
from services.notify.adapters.tables import agents, deliveries, notifications, parked_events
from services.notify.domain.agents import Agent
from services.notify.domain.delivery import DELIVERED, FAILED, PENDING
from services.notify.domain.notifications import Delivery, Notification

# Filters of the notification list: reading state, or the state of all channels together.
READ, UNREAD = "read", "unread"


class NotifyQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def agent(self, agent_id: str) -> Agent | None:
        row = (await self.session.execute(select(agents).where(agents.c.id == agent_id))).first()
        return None if row is None else agent_of(row)

    async def agents(self, page: Page[datetime]) -> list[Agent]:
        query = keyset_page(select(agents), agents.c.created_at, agents.c.id, page)
        return [agent_of(r) for r in (await self.session.execute(query)).all()]

    async def notification(self, notification_id: str) -> Notification | None:
        query = select(notifications).where(notifications.c.id == notification_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else notification_of(row)

    async def notifications(
        self, page: Page[datetime], *, recipient: str | None, status: str | None
    ) -> list[Notification]:
        query = select(notifications)
        if recipient is not None:
            query = query.where(notifications.c.recipient == recipient)
        if status is not None:
            query = query.where(_status_filter(status))
        query = keyset_page(query, notifications.c.created_at, notifications.c.id, page)
        return [notification_of(r) for r in (await self.session.execute(query)).all()]

    async def deliveries_of(self, notification_ids: Sequence[str]) -> dict[str, list[Delivery]]:
        found: dict[str, list[Delivery]] = {i: [] for i in notification_ids}
        if notification_ids:
            rows = (
                await self.session.execute(
                    select(deliveries)
                    .where(deliveries.c.notification_id.in_(notification_ids))
                    .order_by(deliveries.c.notification_id, deliveries.c.id)
                )
            ).all()
            for row in rows:
                found[row.notification_id].append(delivery_of(row))
        return found

    async def pending_by_channel(self) -> dict[str, int]:
        rows = (
            await self.session.execute(
                select(deliveries.c.channel, func.count())
                .where(deliveries.c.status == PENDING)
                .group_by(deliveries.c.channel)
            )
        ).all()
        return {channel: int(count) for channel, count in rows}

    async def count_parked(self) -> int:
        query = select(func.count(parked_events.c.position))
        return int((await self.session.execute(query)).scalar_one())


def _status_filter(status: str) -> Any:
    def any_channel(wanted: str) -> Any:
        return exists().where(
            and_(
                deliveries.c.notification_id == notifications.c.id,
                deliveries.c.status == wanted,
            )
        )

    if status == READ:
        return notifications.c.read_at.is_not(None)
    if status == UNREAD:
        return notifications.c.read_at.is_(None)
    if status == FAILED:
        return any_channel(FAILED)
    if status == PENDING:
        return and_(any_channel(PENDING), ~any_channel(FAILED))
    if status == DELIVERED:
        return and_(~any_channel(PENDING), ~any_channel(FAILED))
    raise ValueError(f"unknown notification status filter {status!r}")
