"""Loads and stores notify's agents, teams, parked events, notifications and deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.envelope import CloudEvent, parse_event
from cimis_chassis.keyset import Page, keyset_page
from cimis_chassis.upsert import conflict_insert
from services.notify.adapters.tables import agents, deliveries, notifications, parked_events, teams
from services.notify.domain.agents import Agent
from services.notify.domain.alerts import TeamContact
from services.notify.domain.delivery import DELIVERED, FAILED, PENDING
from services.notify.domain.notifications import Delivery, Notification
from services.notify.domain.quiet_hours import QuietHours

# Filters of the notification list: reading state, or the state of all channels together.
READ, UNREAD = "read", "unread"


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with what sending it needs."""

    delivery: Delivery
    notification: Notification
    quiet_hours: QuietHours | None


class NotifyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # agents

    async def get_agent(self, agent_id: str) -> Agent | None:
        row = (await self.session.execute(select(agents).where(agents.c.id == agent_id))).first()
        return None if row is None else _agent(row)

    async def save_agent(self, agent: Agent, *, is_new: bool) -> None:
        values = _agent_values(agent)
        if is_new:
            await self.session.execute(insert(agents).values(**values))
        else:
            del values["id"]
            await self.session.execute(update(agents).where(agents.c.id == agent.id).values(values))

    async def list_agents(self, page: Page[datetime]) -> list[Agent]:
        query = keyset_page(select(agents), agents.c.created_at, agents.c.id, page)
        return [_agent(r) for r in (await self.session.execute(query)).all()]

    # teams

    async def get_team(self, team_id: str) -> TeamContact | None:
        row = (await self.session.execute(select(teams).where(teams.c.id == team_id))).first()
        if row is None:
            return None
        return TeamContact(
            team_id=row.id, call_id=row.call_id, title=row.title, agent_id=row.agent_id
        )

    async def save_team(self, team: TeamContact, *, accepted_at: datetime) -> None:
        values = {
            "call_id": team.call_id,
            "title": team.title,
            "agent_id": team.agent_id,
            "accepted_at": accepted_at,
        }
        stmt = conflict_insert(self.session, teams).values(id=team.team_id, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[teams.c.id], set_=values)
        )

    # parked events

    async def park(self, team_id: str, event: CloudEvent, *, now: datetime) -> None:
        stmt = conflict_insert(self.session, parked_events).values(
            team_id=team_id,
            event_id=event.id,
            event_type=event.type,
            envelope=event.to_json_bytes().decode(),
            parked_at=now,
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def take_parked(self, team_id: str) -> list[CloudEvent]:
        """The team's parked events in arrival order, removed from the table."""
        rows = (
            await self.session.execute(
                select(parked_events.c.position, parked_events.c.envelope)
                .where(parked_events.c.team_id == team_id)
                .order_by(parked_events.c.position)
            )
        ).all()
        if rows:
            await self.session.execute(
                delete(parked_events).where(
                    parked_events.c.position.in_([r.position for r in rows])
                )
            )
        return [parse_event(r.envelope) for r in rows]

    async def count_parked(self) -> int:
        return int(
            (await self.session.execute(select(func.count(parked_events.c.position)))).scalar_one()
        )

    # notifications

    async def add_notification(self, notification: Notification) -> bool:
        """Store it unless this event already notified this recipient; True if stored."""
        stmt = (
            conflict_insert(self.session, notifications)
            .values(**_notification_values(notification))
            .on_conflict_do_nothing(
                index_elements=[notifications.c.event_id, notifications.c.recipient]
            )
            .returning(notifications.c.id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def add_deliveries(self, planned: Sequence[Delivery]) -> None:
        if planned:
            await self.session.execute(insert(deliveries), [_delivery_values(d) for d in planned])

    async def get_notification(
        self, notification_id: str, *, for_update: bool = False
    ) -> Notification | None:
        query = select(notifications).where(notifications.c.id == notification_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _notification(row)

    async def save_read(self, notification: Notification) -> None:
        await self.session.execute(
            update(notifications)
            .where(notifications.c.id == notification.id)
            .values(read_at=notification.read_at)
        )

    async def list_notifications(
        self, page: Page[datetime], *, recipient: str | None, status: str | None
    ) -> list[Notification]:
        query = select(notifications)
        if recipient is not None:
            query = query.where(notifications.c.recipient == recipient)
        if status is not None:
            query = query.where(_status_filter(status))
        query = keyset_page(query, notifications.c.created_at, notifications.c.id, page)
        return [_notification(r) for r in (await self.session.execute(query)).all()]

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
                found[row.notification_id].append(_delivery(row))
        return found

    # delivery work

    async def claim_due(
        self, *, holder: str, now: datetime, until: datetime, limit: int
    ) -> list[DueDelivery]:
        """Lease up to ``limit`` due deliveries to ``holder`` and return them.

        The conditional UPDATE is the claim: a row another instance claimed since our SELECT
        no longer matches (PostgreSQL re-checks the WHERE after the row lock, SQLite runs one
        writer at a time), so no delivery is ever held by two instances at once.
        """
        free = and_(
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
            or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        )
        candidates = (
            (
                await self.session.execute(
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
        await self.session.execute(
            update(deliveries)
            .where(and_(deliveries.c.id.in_(candidates), free))
            .values(claimed_by=holder, claimed_until=until)
        )
        rows = (
            await self.session.execute(
                select(
                    deliveries,
                    notifications,
                    agents.c.quiet_start,
                    agents.c.quiet_end,
                )
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
                delivery=_delivery(row),
                notification=_notification(row),
                quiet_hours=_quiet_hours(row.quiet_start, row.quiet_end),
            )
            for row in rows
        ]

    async def settle(self, delivery_id: int, *, holder: str, **values: Any) -> bool:
        """Record a claimed delivery's outcome and drop the claim; False if it was lost."""
        result = await self.session.execute(
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
        """Give claims back unsent (at shutdown), so a restart need not wait for them to lapse."""
        if delivery_ids:
            await self.session.execute(
                update(deliveries)
                .where(and_(deliveries.c.id.in_(delivery_ids), deliveries.c.claimed_by == holder))
                .values(claimed_by=None, claimed_until=None)
            )

    async def pending_by_channel(self) -> dict[str, int]:
        rows = (
            await self.session.execute(
                select(deliveries.c.channel, func.count())
                .where(deliveries.c.status == PENDING)
                .group_by(deliveries.c.channel)
            )
        ).all()
        return {channel: int(count) for channel, count in rows}


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


def _quiet_hours(start: str | None, end: str | None) -> QuietHours | None:
    if start is None or end is None:
        return None
    return QuietHours.parse(start, end)


def _agent(r: Row[Any]) -> Agent:
    return Agent(
        id=r.id,
        name=r.name,
        email=r.email,
        webhook_url=r.webhook_url,
        quiet_hours=_quiet_hours(r.quiet_start, r.quiet_end),
        language=r.language,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def _agent_values(agent: Agent) -> dict[str, Any]:
    quiet = agent.quiet_hours.describe() if agent.quiet_hours else None
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "webhook_url": agent.webhook_url,
        "quiet_start": quiet["start"] if quiet else None,
        "quiet_end": quiet["end"] if quiet else None,
        "language": agent.language,
        "created_at": agent.created_at,
        "updated_at": agent.updated_at,
    }


def _notification(r: Row[Any]) -> Notification:
    m = r._mapping
    return Notification(
        id=m[notifications.c.id],
        event_id=m[notifications.c.event_id],
        recipient=m[notifications.c.recipient],
        team_id=m[notifications.c.team_id],
        kind=m[notifications.c.kind],
        title=m[notifications.c.title],
        body=m[notifications.c.body],
        language=m[notifications.c.language],
        correlation_id=m[notifications.c.correlation_id],
        created_at=m[notifications.c.created_at],
        read_at=m[notifications.c.read_at],
    )


def _notification_values(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "event_id": n.event_id,
        "recipient": n.recipient,
        "team_id": n.team_id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "language": n.language,
        "correlation_id": n.correlation_id,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


def _delivery(r: Row[Any]) -> Delivery:
    m = r._mapping
    return Delivery(
        id=m[deliveries.c.id],
        notification_id=m[deliveries.c.notification_id],
        channel=m[deliveries.c.channel],
        target=m[deliveries.c.target],
        status=m[deliveries.c.status],
        attempts=m[deliveries.c.attempts],
        next_attempt_at=m[deliveries.c.next_attempt_at],
        created_at=m[deliveries.c.created_at],
        last_error=m[deliveries.c.last_error],
        delivered_at=m[deliveries.c.delivered_at],
        failed_at=m[deliveries.c.failed_at],
    )


def _delivery_values(d: Delivery) -> dict[str, Any]:
    return {
        "notification_id": d.notification_id,
        "channel": d.channel,
        "target": d.target,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
        "failed_at": d.failed_at,
    }
