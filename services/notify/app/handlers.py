"""Notify's command handlers: load, apply the domain rule, store and audit in one unit."""

from __future__ import annotations

from typing import Any

from cimis_chassis.unit_of_work import UnitOfWork
from services.notify.adapters.repository import NotifyRepository
from services.notify.app.commands import MarkRead, PutAgent
from services.notify.domain.agents import Agent, define_agent
from services.notify.domain.errors import NotFound
from services.notify.domain.notifications import Notification, mark_read


def agent_snapshot(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "email": agent.email,
        "webhook_url": agent.webhook_url,
        "quiet_hours": agent.quiet_hours.describe() if agent.quiet_hours else None,
        "language": agent.language,
    }


async def put_agent(uow: UnitOfWork, cmd: PutAgent) -> Agent:
    repo = NotifyRepository(uow.session)
    existing = await repo.get_agent(cmd.agent_id)
    agent = define_agent(
        agent_id=cmd.agent_id,
        name=cmd.name,
        email=cmd.email,
        webhook_url=cmd.webhook_url,
        quiet_hours=cmd.quiet_hours,
        language=cmd.language,
        existing=existing,
        now=uow.clock.now(),
    )
    if agent is existing:
        return agent
    await repo.save_agent(agent, is_new=existing is None)
    await uow.audit(
        "agent.created" if existing is None else "agent.updated",
        "agent",
        agent.id,
        before=agent_snapshot(existing) if existing else None,
        after=agent_snapshot(agent),
    )
    return agent


async def read_notification(uow: UnitOfWork, cmd: MarkRead) -> Notification:
    repo = NotifyRepository(uow.session)
    notification = await repo.get_notification(cmd.notification_id, for_update=True)
    if notification is None:
        raise NotFound("notification", cmd.notification_id)
    read = mark_read(notification, acting_for=cmd.acting_for, now=uow.clock.now())
    if read is notification:
        return notification
    await repo.save_read(read)
    await uow.audit(
        "notification.read",
        "notification",
        read.id,
        before={"read_at": None},
        after={"read_at": _iso(read)},
    )
    return read


def _iso(notification: Notification) -> str | None:
    return notification.read_at.isoformat() if notification.read_at else None
