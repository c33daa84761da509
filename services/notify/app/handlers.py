"""Notify's command handlers: load, apply the domain rule, store and audit in one unit."""

from __future__ import annotations

from typing import Any

from cimis_contracts.notify import AgentRegisteredV1, AgentRetiredV1, AgentUpdatedV1
from services.notify.adapters.resolver import ResolutionFailed, Resolver
from services.notify.app.commands import MarkRead, PutAgent
from services.notify.app.ports import NotifyUnitOfWork
from services.notify.domain.agents import Agent, define_agent, retire
from services.notify.domain.errors import NotFound
from services.notify.domain.notifications import Notification, mark_read
from services.notify.domain.webhooks import (
    WebhookPolicy,
    WebhookRefused,
    check_addresses,
    target_of,
)


def agent_snapshot(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "email": agent.email,
        "webhook_url": agent.webhook_url,
        "quiet_hours": agent.quiet_hours.describe() if agent.quiet_hours else None,
        "language": agent.language,
        "salutation": agent.salutation,
        "retired_at": agent.retired_at.isoformat() if agent.retired_at else None,
        "digest": agent.digest.describe() if agent.digest else None,
    }


async def vet_webhook(url: str, policy: WebhookPolicy, resolver: Resolver) -> None:
    """Refuse a webhook URL whose host resolves to an address the policy does not admit.

    Run it before the unit of work: resolving can take seconds, and no lock should wait.
    """
    target = target_of(url)
    try:
        addresses = await resolver.resolve(target.host, target.port)
    except ResolutionFailed as exc:
        raise WebhookRefused("The webhook URL's host name does not resolve.") from exc
    check_addresses(target, addresses, policy)


async def put_agent(uow: NotifyUnitOfWork, cmd: PutAgent) -> Agent:
    existing = await uow.agents.get(cmd.agent_id, lock=True)
    agent = define_agent(
        agent_id=cmd.agent_id,
        name=cmd.name,
        email=cmd.email,
        webhook_url=cmd.webhook_url,
        quiet_hours=cmd.quiet_hours,
        language=cmd.language,
        existing=existing,
        now=uow.clock.now(),
        salutation=cmd.salutation,
        digest=cmd.digest,
    )
    if agent is existing:
        return agent
    if existing is None:
        await uow.agents.add(agent)
    else:
        await uow.agents.update(agent)
    await uow.audit(
        "agent.created" if existing is None else "agent.updated",
        "agent",
        agent.id,
        before=agent_snapshot(existing) if existing else None,
        after=agent_snapshot(agent),
    )
    # Intake learns the directory from these: a team may only name an agent it has heard of.
    if existing is None:
        await uow.emit(
            AgentRegisteredV1(agent_id=agent.id, name=agent.name, registered_at=agent.created_at)
        )
    else:
        await uow.emit(
            AgentUpdatedV1(agent_id=agent.id, name=agent.name, updated_at=agent.updated_at)
        )
    return agent


async def retire_agent(uow: NotifyUnitOfWork, agent_id: str) -> Agent:
    agent = await uow.agents.get(agent_id, lock=True)
    if agent is None:
        raise NotFound("agent", agent_id)
    retired = retire(agent, now=uow.clock.now())
    if retired is None:
        return agent
    await uow.agents.update(retired)
    await uow.audit(
        "agent.retired",
        "agent",
        agent.id,
        before=agent_snapshot(agent),
        after=agent_snapshot(retired),
    )
    assert retired.retired_at is not None
    await uow.emit(
        AgentRetiredV1(agent_id=retired.id, name=retired.name, retired_at=retired.retired_at)
    )
    return retired


async def read_notification(uow: NotifyUnitOfWork, cmd: MarkRead) -> Notification:
    notification = await uow.notifications.get(cmd.notification_id, lock=True)
    if notification is None:
        raise NotFound("notification", cmd.notification_id)
    read = mark_read(notification, acting_for=cmd.acting_for, now=uow.clock.now())
    if read is notification:
        return notification
    await uow.notifications.update(read)
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
