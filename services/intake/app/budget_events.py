"""What budget made of a team, as its events tell: staff see it on the team (budget_status)."""

from __future__ import annotations

from dataclasses import replace

from cimis_chassis.envelope import CloudEvent
from cimis_contracts.budget import AllocationRefusedV1, BudgetAllocatedV1, BudgetClosedV1
from services.intake.app.ports import IntakeUnitOfWork

ALLOCATED, WAITING, REFUSED, CLOSED = "allocated", "waiting", "refused", "closed"


async def on_budget_allocated(
    uow: IntakeUnitOfWork, payload: BudgetAllocatedV1, event: CloudEvent
) -> None:
    await _note(uow, payload.team_id, ALLOCATED, event)


async def on_allocation_refused(
    uow: IntakeUnitOfWork, payload: AllocationRefusedV1, event: CloudEvent
) -> None:
    status = WAITING if payload.team_waits else REFUSED
    await _note(uow, payload.team_id, status, event)


async def on_budget_closed(
    uow: IntakeUnitOfWork, payload: BudgetClosedV1, event: CloudEvent
) -> None:
    await _note(uow, payload.team_id, CLOSED, event)


async def _note(uow: IntakeUnitOfWork, team_id: str, status: str, event: CloudEvent) -> None:
    # Budget's events of one team arrive in order (keyed by team), so the last one stands.
    team = await uow.teams.get(team_id, lock=True)
    if team is None or team.budget_status == status:
        return
    uow.teams.put(replace(team, budget_status=status))
    await uow.audit(
        "team.budget_status",
        "team",
        team_id,
        before={"budget_status": team.budget_status},
        after={"budget_status": status, "event": event.id},
    )
