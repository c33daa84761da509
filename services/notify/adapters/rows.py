"""Notify's entities to table rows and back, for the repositories and the read queries alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from services.notify.adapters.tables import deliveries, notifications
from services.notify.domain.agents import Agent
from services.notify.domain.alerts import TeamContact
from services.notify.domain.digest_schedule import DigestSchedule
from services.notify.domain.notifications import Delivery, Notification
from services.notify.domain.quiet_hours import QuietHours


def quiet_hours_of(start: str | None, end: str | None) -> QuietHours | None:
    if start is None or end is None:
        return None
    return QuietHours.parse(start, end)


def digest_of(weekday: str | None, at: str | None) -> DigestSchedule | None:
    if weekday is None or at is None:
        return None
    return DigestSchedule.parse(weekday, at)


def agent_of(r: Row[Any]) -> Agent:
    return Agent(
        id=r.id,
        name=r.name,
        email=r.email,
        webhook_url=r.webhook_url,
        quiet_hours=quiet_hours_of(r.quiet_start, r.quiet_end),
        language=r.language,
        created_at=r.created_at,
        updated_at=r.updated_at,
        salutation=r.salutation,
        retired_at=r.retired_at,
        digest=digest_of(r.digest_weekday, r.digest_time),
    )


def agent_values(agent: Agent) -> dict[str, Any]:
    quiet = agent.quiet_hours.describe() if agent.quiet_hours else None
    digest = agent.digest.describe() if agent.digest else None
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "webhook_url": agent.webhook_url,
        "quiet_start": quiet["start"] if quiet else None,
        "quiet_end": quiet["end"] if quiet else None,
        "language": agent.language,
        "salutation": agent.salutation,
        "retired_at": agent.retired_at,
        "digest_weekday": digest["weekday"] if digest else None,
        "digest_time": digest["time"] if digest else None,
        "created_at": agent.created_at,
        "updated_at": agent.updated_at,
    }


def team_of(r: Row[Any]) -> TeamContact:
    return TeamContact(team_id=r.id, call_id=r.call_id, title=r.title, agent_id=r.agent_id)


def notification_of(r: Row[Any]) -> Notification:
    # By column, not name: the delivery worker reads notifications joined with deliveries.
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


def notification_values(n: Notification) -> dict[str, Any]:
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


def delivery_of(r: Row[Any]) -> Delivery:
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


def delivery_values(d: Delivery) -> dict[str, Any]:
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
