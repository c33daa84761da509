"""The milestones admin API (``/api/v1``): plans per team, the programme overview, completion."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from cimis_chassis.api_commands import IdempotencyKey, run_command
from cimis_chassis.auth import READ_ALL, Principal, Role, require
from cimis_chassis.keyset import Page
from cimis_chassis.pagination import Cursor, Limit, decode_cursor, next_cursor
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import ServiceHost
from cimis_chassis.text import comparison_key
from services.milestones.adapters.queries import MilestoneFilter, MilestoneQueries
from services.milestones.app import handlers
from services.milestones.app.commands import (
    Actor,
    CompleteMilestone,
    ConfirmMilestone,
    ReopenMilestone,
    RescheduleMilestone,
    WaiveMilestone,
)
from services.milestones.app.ports import MilestonesUnitOfWork
from services.milestones.domain.calendar import berlin_day
from services.milestones.entrypoints.schemas import (
    CompleteIn,
    Id,
    ReasonIn,
    RescheduleIn,
    in_plan,
    listed,
    plan_out,
)

router = APIRouter(prefix="/api/v1", tags=["milestones"])

Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Completer = Annotated[Principal, Depends(require(Role.STAFF, Role.AGENT))]
TeamReader = Annotated[Principal, Depends(require(*READ_ALL, Role.AGENT))]
ShownStatus = Literal["open", "overdue", "reported", "completed", "waived", "cancelled"]
MilestoneKey = Literal["kickoff", "workshop", "prototype", "test", "final"]


def _host(request: Request) -> ServiceHost:
    return request.app.state.host  # type: ignore[no-any-return]


def _actor(principal: Principal) -> Actor:
    return Actor(name=principal.name, is_agent=principal.is_agent)


def _page(limit: int, cursor: str | None) -> Page[date]:
    if not cursor:  # absent or empty: the first page, as in every service
        return Page(after=None, limit=limit)
    due, ident = decode_cursor(cursor)
    return Page(after=(due.date(), ident), limit=limit)


@router.get("/milestones")
async def list_milestones(
    request: Request,
    principal: TeamReader,
    status: Annotated[ShownStatus | None, Query()] = None,
    team_id: Id | None = None,
    call_id: Id | None = None,
    key: Annotated[MilestoneKey | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The programme overview, earliest due first; ``status=overdue`` lists what is late."""
    host = _host(request)
    now = host.clock.now()
    where = MilestoneFilter(
        status=status,
        team_id=team_id,
        call_id=call_id,
        key=key,
        # An agent's list is always narrowed to their own teams, whatever filters they send.
        agent_id=comparison_key(principal.name) if principal.is_agent else None,
    )
    items = await MilestoneQueries(host.db).list_milestones(
        where, _page(limit, cursor), today=berlin_day(now)
    )
    return {
        "items": [listed(v, now) for v in items],
        "next_cursor": next_cursor(
            items,
            limit,
            lambda v: (datetime.combine(v.milestone.due_date, time.min, UTC), v.milestone.id),
        ),
    }


@router.get("/milestones/{milestone_id}")
async def get_milestone(
    milestone_id: Id, request: Request, principal: TeamReader
) -> dict[str, Any]:
    host = _host(request)
    plan = await MilestoneQueries(host.db).plan_of_milestone(milestone_id)
    if plan is None:
        raise Problem(404, "not-found", f"milestone {milestone_id} does not exist")
    handlers.ensure_access(plan, _actor(principal))
    return in_plan(plan, plan.milestone(milestone_id), host.clock.now())


@router.get("/teams/{team_id}/milestones")
async def team_milestones(team_id: Id, request: Request, principal: TeamReader) -> dict[str, Any]:
    """The team's plan with its progress.

    `plan_status` is `pending_budget` from acceptance until budget has allocated the team's
    money, then `active` (`started_at` says since when; only then can milestones be completed
    or rescheduled, and only then are they ever overdue), `completed` once `final` is
    completed, or `closed` when the team withdrew or budget refused or closed its money (its
    open milestones then show `cancelled`). A team that waited on the call's waiting list
    starts late: its due dates move by the days it waited, each move announced as a
    rescheduling.
    """
    host = _host(request)
    plan = await MilestoneQueries(host.db).plan(team_id)
    if plan is None:
        raise Problem(404, "not-found", f"team {team_id} has no milestone plan")
    handlers.ensure_access(plan, _actor(principal))
    return plan_out(plan, host.clock.now())


@router.post("/milestones/{milestone_id}/complete")
async def complete_milestone(
    milestone_id: Id,
    request: Request,
    principal: Completer,
    body: CompleteIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Staff or the team's own agent report the milestone done (status `reported`), with a
    note or an evidence link; it is completed when another staff member confirms it
    (`/confirm`). Reporting again, or a completed milestone, changes nothing.

    Without evidence (neither `note` nor `evidence_url`): 422 `evidence-required`.
    409 `plan-not-active` while the plan waits for budget's allocation (`pending_budget`),
    409 `plan-cancelled` once it is closed, 409 `milestone-waived` for a waived one.
    """
    given = body or CompleteIn()
    cmd = CompleteMilestone(
        milestone_id=milestone_id,
        actor=_actor(principal),
        note=given.note,
        evidence_url=given.evidence_url,
    )

    async def work(uow: MilestonesUnitOfWork) -> dict[str, Any]:
        plan, milestone = await handlers.complete_milestone(uow, cmd)
        return in_plan(plan, milestone, uow.clock.now()) | {"plan_status": plan.status}

    return await run_command(
        request,
        principal,
        work,
        idempotency_key=idempotency_key,
        body=given.model_dump(mode="json"),
    )


@router.post("/milestones/{milestone_id}/confirm")
async def confirm_milestone(
    milestone_id: Id, request: Request, principal: Staff, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Four eyes: a staff member other than the reporter confirms a reported milestone; only
    this completes it (milestone completed, which releases its tranche). 403 `four-eyes` for
    the reporter, 409 `milestone-not-reported` for one nobody reported."""
    cmd = ConfirmMilestone(milestone_id=milestone_id, actor=_actor(principal))

    async def work(uow: MilestonesUnitOfWork) -> dict[str, Any]:
        plan, milestone = await handlers.confirm_milestone(uow, cmd)
        return in_plan(plan, milestone, uow.clock.now()) | {"plan_status": plan.status}

    return await run_command(request, principal, work, idempotency_key=idempotency_key)


@router.post("/milestones/{milestone_id}/reopen")
async def reopen_milestone(
    milestone_id: Id,
    body: ReasonIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Staff undo a report, confirmation or waiver made by mistake, with a reason: the
    milestone is open again and a completed plan runs again. Budget takes back the
    milestone's tranche if its money is still unspent (`milestone_reopened`), and says so
    when it is spent and stays with the team (`tranche_kept`).

    Only before the tranche is paid out: once budget has paid money of the milestone's tranche
    (or of a later one that waited for it) to the team, 409 `tranche-paid-out`.
    """
    cmd = ReopenMilestone(milestone_id=milestone_id, reason=body.reason, actor=_actor(principal))

    async def work(uow: MilestonesUnitOfWork) -> dict[str, Any]:
        plan, milestone = await handlers.reopen_milestone(uow, cmd)
        return in_plan(plan, milestone, uow.clock.now()) | {"plan_status": plan.status}

    return await run_command(
        request,
        principal,
        work,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


@router.post("/milestones/{milestone_id}/waive")
async def waive_milestone(
    milestone_id: Id,
    body: ReasonIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Staff release the plan from an open milestone, with a reason (status `waived`): it
    counts as done for the plan's completion and for the tranches after it, and releases no
    money of its own. Waiving again changes nothing; a completed milestone is 409.
    """
    cmd = WaiveMilestone(milestone_id=milestone_id, reason=body.reason, actor=_actor(principal))

    async def work(uow: MilestonesUnitOfWork) -> dict[str, Any]:
        plan, milestone = await handlers.waive_milestone(uow, cmd)
        return in_plan(plan, milestone, uow.clock.now()) | {"plan_status": plan.status}

    return await run_command(
        request,
        principal,
        work,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


@router.post("/milestones/{milestone_id}/reschedule")
async def reschedule_milestone(
    milestone_id: Id,
    body: RescheduleIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Staff move an open milestone of an active plan to a new Berlin day, today or later.

    Without evidence (neither `note` nor `evidence_url`): 422 `evidence-required`.
    409 `plan-not-active` while the plan waits for budget's allocation (`pending_budget`),
    409 `plan-cancelled` once it is closed, 409 `plan-completed` once it is completed.
    """
    cmd = RescheduleMilestone(
        milestone_id=milestone_id,
        due_date=body.due_date,
        reason=body.reason,
        actor=_actor(principal),
    )

    async def work(uow: MilestonesUnitOfWork) -> dict[str, Any]:
        plan, milestone = await handlers.reschedule_milestone(uow, cmd)
        return in_plan(plan, milestone, uow.clock.now())

    return await run_command(
        request,
        principal,
        work,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )
