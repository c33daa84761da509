"""Notify's admin API (``/api/v1``): agents' contacts and the notifications they received."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from cimis_chassis.api_commands import run_command
from cimis_chassis.auth import READ_ALL, Principal, Role, require
from cimis_chassis.keyset import page_from
from cimis_chassis.pagination import Cursor, Limit, next_cursor
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import ServiceHost
from cimis_chassis.text import comparison_key, normalise_ident, same_ident
from services.notify.adapters.queries import NotifyQueries
from services.notify.adapters.resolver import Resolver, SystemResolver
from services.notify.app import handlers
from services.notify.app.commands import MarkRead, PutAgent
from services.notify.app.ports import NotifyUnitOfWork
from services.notify.domain.agents import STAFF
from services.notify.domain.digest_schedule import DigestSchedule
from services.notify.domain.notifications import Notification
from services.notify.domain.quiet_hours import QuietHours
from services.notify.entrypoints.schemas import (
    AGENT_ID_PATTERN,
    AgentId,
    AgentIn,
    Id,
    StatusFilter,
    agent_out,
    notification_out,
)
from services.notify.settings import NotifySettings

router = APIRouter(prefix="/api/v1")

Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Reader = Annotated[Principal, Depends(require(*READ_ALL))]
InboxReader = Annotated[Principal, Depends(require(*READ_ALL, Role.AGENT))]
# Agents mark their own notifications; staff those of the programme office's mailbox.
InboxOwner = Annotated[Principal, Depends(require(Role.AGENT, Role.STAFF))]
AgentPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        pattern=AGENT_ID_PATTERN,
        description="The agent's principal name (their API key's principal); any case.",
    ),
    # Its pattern already keeps out what AS_IDENT would document: normalise only.
    AfterValidator(normalise_ident),
]


def webhook_resolver() -> Resolver:
    """How webhook hosts are resolved when a profile is saved (tests override it)."""
    return SystemResolver()


def _host(request: Request) -> ServiceHost:
    return request.app.state.host  # type: ignore[no-any-return]


def _settings(request: Request) -> NotifySettings:
    settings = _host(request).settings
    assert isinstance(settings, NotifySettings)
    return settings


def _acting_for(principal: Principal) -> str | None:
    """Whose notifications the principal acts on: their own, the office's, or (admin) all."""
    if principal.role is Role.ADMIN:
        return None
    return comparison_key(principal.name) if principal.is_agent else STAFF


def _forbid_foreign(principal: Principal, agent_id: str) -> None:
    if principal.is_agent and not same_ident(agent_id, principal.name):
        raise Problem(403, "forbidden", "Agents may only see their own profile and notifications.")


@router.put("/agents/{agent_id}", tags=["agents"])
async def put_agent(
    agent_id: AgentPath,
    body: AgentIn,
    request: Request,
    principal: Staff,
    resolver: Annotated[Resolver, Depends(webhook_resolver)],
) -> JSONResponse:
    """Create or replace an agent's profile.

    ``webhook_url`` must be https:// to a host whose every address is public; internal
    receivers need WEBHOOK_ALLOWED_HOSTS (and WEBHOOK_ALLOW_HTTP for http://). Otherwise 422
    ``webhook-not-allowed``. ``digest`` left out means Monday 08:00 (Berlin); null, none.
    """
    if body.webhook_url:
        await handlers.vet_webhook(
            str(body.webhook_url), _settings(request).webhook_policy(), resolver
        )
    quiet, digest = body.quiet_hours, body.digest
    cmd = PutAgent(
        agent_id=agent_id,
        name=body.name,
        email=body.email,
        webhook_url=str(body.webhook_url) if body.webhook_url else None,
        quiet_hours=QuietHours.parse(quiet.start, quiet.end) if quiet else None,
        language=body.language,
        salutation=body.salutation,
        digest=DigestSchedule.parse(digest.weekday, digest.time) if digest else None,
    )

    async def work(uow: NotifyUnitOfWork) -> dict[str, Any]:
        return agent_out(await handlers.put_agent(uow, cmd))

    return await run_command(request, principal, work)


@router.delete("/agents/{agent_id}", tags=["agents"])
async def retire_agent(agent_id: AgentPath, request: Request, principal: Staff) -> JSONResponse:
    """Retire an agent who leaves the programme: the profile and its notifications are kept
    for the history (`retired_at`), and alerts that would reach them go to the programme
    office until staff reassign their teams. Retiring again changes nothing."""

    async def work(uow: NotifyUnitOfWork) -> dict[str, Any]:
        return agent_out(await handlers.retire_agent(uow, agent_id))

    return await run_command(request, principal, work)


@router.get("/agents/{agent_id}", tags=["agents"])
async def get_agent(
    agent_id: AgentPath, request: Request, principal: InboxReader
) -> dict[str, Any]:
    _forbid_foreign(principal, agent_id)
    async with _host(request).db.sessions() as session:
        agent = await NotifyQueries(session).agent(agent_id)
    if agent is None:
        raise Problem(404, "not-found", f"agent {agent_id} does not exist")
    return agent_out(agent)


@router.get("/agents", tags=["agents"])
async def list_agents(
    request: Request, _: Reader, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    async with _host(request).db.sessions() as session:
        items = await NotifyQueries(session).agents(page_from(limit, cursor))
    return {
        "items": [agent_out(a) for a in items],
        "next_cursor": next_cursor(items, limit, lambda a: (a.created_at, a.id)),
    }


@router.get("/notifications", tags=["notifications"])
async def list_notifications(
    request: Request,
    principal: InboxReader,
    agent_id: Annotated[AgentId | None, Query()] = None,
    status: Annotated[StatusFilter | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Newest last. ``status``: unread/read, or the channels' state (pending/delivered/failed)."""
    if principal.is_agent:
        # An agent's list is always their own; asking for someone else's is refused outright.
        if agent_id is not None:
            _forbid_foreign(principal, agent_id)
        agent_id = comparison_key(principal.name)
    async with _host(request).db.sessions() as session:
        queries = NotifyQueries(session)
        items = await queries.notifications(
            page_from(limit, cursor), recipient=agent_id, status=status
        )
        channels = await queries.deliveries_of([n.id for n in items])
    return {
        "items": [
            notification_out(n, channels[n.id], show_errors=not principal.is_agent) for n in items
        ],
        "next_cursor": next_cursor(items, limit, lambda n: (n.created_at, n.id)),
    }


@router.get("/notifications/{notification_id}", tags=["notifications"])
async def get_notification(
    notification_id: Id, request: Request, principal: InboxReader
) -> dict[str, Any]:
    async with _host(request).db.sessions() as session:
        queries = NotifyQueries(session)
        notification = await queries.notification(notification_id)
        if notification is None:
            raise Problem(404, "not-found", f"notification {notification_id} does not exist")
        _forbid_foreign(principal, notification.recipient)
        channels = await queries.deliveries_of([notification.id])
    return notification_out(
        notification, channels[notification.id], show_errors=not principal.is_agent
    )


@router.post("/notifications/{notification_id}/read", tags=["notifications"])
async def mark_read(notification_id: Id, request: Request, principal: InboxOwner) -> JSONResponse:
    cmd = MarkRead(notification_id=notification_id, acting_for=_acting_for(principal))

    async def work(uow: NotifyUnitOfWork) -> dict[str, Any]:
        read: Notification = await handlers.read_notification(uow, cmd)
        channels = await uow.deliveries.of([read.id])
        return notification_out(read, channels[read.id], show_errors=not principal.is_agent)

    return await run_command(request, principal, work)
