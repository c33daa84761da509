"""Outcomes' admin API (``/api/v1``): submitting and reviewing the teams' blueprints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from cimis_chassis.api_commands import IdempotencyKey, run_command
from cimis_chassis.auth import READ_ALL, Principal, Role, require
from cimis_chassis.keyset import page_from
from cimis_chassis.pagination import Cursor, Limit, next_cursor
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import host_of
from cimis_chassis.text import comparison_key
from services.outcomes.adapters.queries import OutcomesQueries
from services.outcomes.app import blueprints
from services.outcomes.app.commands import (
    Actor,
    PublishBlueprint,
    RequestChanges,
    SubmitBlueprint,
    WithdrawBlueprint,
)
from services.outcomes.app.ports import OutcomesUnitOfWork
from services.outcomes.domain.blueprints import Blueprint
from services.outcomes.entrypoints.schemas import (
    BlueprintIn,
    CommentIn,
    Id,
    ReasonIn,
    blueprint_out,
)

router = APIRouter(prefix="/api/v1", tags=["blueprints"])

Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Submitter = Annotated[Principal, Depends(require(Role.STAFF, Role.AGENT))]
Reader = Annotated[Principal, Depends(require(*READ_ALL, Role.AGENT))]
Status = Literal["submitted", "changes_requested", "published", "withdrawn"]


async def _render(uow: OutcomesUnitOfWork, blueprint: Blueprint) -> dict[str, Any]:
    costs = await uow.costs.of([blueprint.team_id])
    return blueprint_out(blueprint, costs[blueprint.team_id])


@router.post("/teams/{team_id}/blueprint", status_code=201)
async def submit_blueprint(
    team_id: Id,
    body: BlueprintIn,
    request: Request,
    principal: Submitter,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Submit the team's blueprint for review (the team's agent or staff), or resubmit it
    after staff asked for changes. Its costs per budget line come from budget's approved
    expenses; contacts appear in the public catalogue only with `consent: true`.

    409 `plan-not-complete` until every milestone of the team's plan is completed or waived;
    409 `blueprint-published` for a published one (staff withdraw it first).
    """
    cmd = SubmitBlueprint(
        team_id,
        body.content(),
        Actor(comparison_key(principal.name), is_agent=principal.is_agent),
    )

    async def work(uow: OutcomesUnitOfWork) -> dict[str, Any]:
        return await _render(uow, await blueprints.submit_blueprint(uow, cmd))

    return await run_command(
        request, principal, work, status=201, idempotency_key=idempotency_key, body=body
    )


@router.post("/blueprints/{blueprint_id}/publish")
async def publish_blueprint(blueprint_id: Id, request: Request, principal: Staff) -> JSONResponse:
    """Publish a submitted blueprint into the public catalogue (`/katalog`)."""

    async def work(uow: OutcomesUnitOfWork) -> dict[str, Any]:
        cmd = PublishBlueprint(blueprint_id, principal.name)
        return await _render(uow, await blueprints.publish_blueprint(uow, cmd))

    return await run_command(request, principal, work)


@router.post("/blueprints/{blueprint_id}/request-changes")
async def request_changes(
    blueprint_id: Id, body: CommentIn, request: Request, principal: Staff
) -> JSONResponse:
    """Send a submitted blueprint back to the team with a comment; the agent is told."""

    async def work(uow: OutcomesUnitOfWork) -> dict[str, Any]:
        cmd = RequestChanges(blueprint_id, body.comment, principal.name)
        return await _render(uow, await blueprints.request_changes(uow, cmd))

    return await run_command(request, principal, work)


@router.post("/blueprints/{blueprint_id}/withdraw")
async def withdraw_blueprint(
    blueprint_id: Id, body: ReasonIn, request: Request, principal: Staff
) -> JSONResponse:
    """Take a blueprint out of review or out of the public catalogue, at once."""

    async def work(uow: OutcomesUnitOfWork) -> dict[str, Any]:
        cmd = WithdrawBlueprint(blueprint_id, body.reason, principal.name)
        return await _render(uow, await blueprints.withdraw_blueprint(uow, cmd))

    return await run_command(request, principal, work)


@router.get("/blueprints/{blueprint_id}")
async def get_blueprint(blueprint_id: Id, request: Request, principal: Reader) -> dict[str, Any]:
    async with host_of(request).db.sessions() as session:
        queries = OutcomesQueries(session)
        blueprint = await queries.blueprint(blueprint_id)
        if blueprint is None:
            raise Problem(404, "not-found", f"blueprint {blueprint_id} does not exist")
        if principal.is_agent and await queries.team_agent(blueprint.team_id) != comparison_key(
            principal.name
        ):
            raise Problem(403, "forbidden", "Agents may only see their own teams' blueprints.")
        costs = await queries.costs([blueprint.team_id])
    return blueprint_out(blueprint, costs[blueprint.team_id])


@router.get("/blueprints")
async def list_blueprints(
    request: Request,
    principal: Reader,
    status: Annotated[Status | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The review queue (`?status=submitted`), longest waiting first; an agent sees
    their own teams' blueprints only."""
    agent_id = comparison_key(principal.name) if principal.is_agent else None
    async with host_of(request).db.sessions() as session:
        queries = OutcomesQueries(session)
        items = await queries.blueprints(page_from(limit, cursor), status=status, agent_id=agent_id)
        costs = await queries.costs([b.team_id for b in items])
    return {
        "items": [blueprint_out(b, costs[b.team_id]) for b in items],
        "next_cursor": next_cursor(items, limit, lambda b: (b.updated_at, b.id)),
    }
