"""Allocating a team from its call's pot, and the waiting list: shared by the event handlers
(acceptance, a call opening, a withdrawal) and the expense commands (a rejection or reversal
that gives a closed team's money back to the pot).

``cause`` is what the ledger records as the reason of each booking (``event:<id>`` for an
event, the actor for a command).
"""

from __future__ import annotations

from cimis_contracts.budget import (
    AllocationRefusedV1,
    BudgetAllocatedV1,
    TrancheReleasedV1,
)
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain import budgets
from services.budget.domain.budgets import Outcome, Pot, TeamBudget


async def allocate(
    uow: BudgetUnitOfWork, team: TeamBudget, pot: Pot, cause: str
) -> tuple[Pot, TeamBudget]:
    """Allocate ``team`` from ``pot`` (or put it on the waiting list, or refuse it) and
    announce it; returns the pot and the team as they are now."""
    outcome = budgets.allocate(team, pot)
    assert outcome.pot is not None
    if not outcome.changed:
        return pot, team
    await store(uow, outcome, before=team, cause=cause, action="budget.allocated")
    now = uow.clock.now()
    if outcome.team.status in (budgets.REFUSED, budgets.WAITING):
        await uow.emit(
            AllocationRefusedV1(
                team_id=team.team_id,
                call_id=team.call_id,
                requested_cents=team.requested_cents,
                pot_available_cents=pot.available_cents,
                reason_code=outcome.team.refusal_code or "refused",
                max_team_budget_cents=pot.max_team_cents,
                reason=outcome.team.refusal_reason or "",
                refused_at=now,
            )
        )
        return outcome.pot, outcome.team
    await uow.emit(
        BudgetAllocatedV1(
            team_id=team.team_id,
            call_id=team.call_id,
            allocated_cents=outcome.team.allocated_cents,
            pot_available_cents=outcome.pot.available_cents,
            allocated_at=now,
            from_waiting_list=team.status == budgets.WAITING,
        )
    )
    await emit_releases(uow, outcome)
    return outcome.pot, outcome.team


async def allocate_waiting(uow: BudgetUnitOfWork, pot: Pot, cause: str) -> None:
    """Money came back to the pot: allocate the waiting teams it can now carry, strictly in
    acceptance order (a later, smaller team does not overtake an earlier one)."""
    for team in await uow.teams.in_line(pot.call_id, budgets.WAITING):
        pot, after = await allocate(uow, team, pot, cause)
        if after.status == budgets.WAITING:  # those behind it wait too
            return


async def store(
    uow: BudgetUnitOfWork,
    outcome: Outcome,
    *,
    before: TeamBudget,
    cause: str,
    action: str,
) -> None:
    uow.teams.put(outcome.team)
    if outcome.pot is not None:
        uow.pots.put(outcome.pot)
    uow.ledger.book(outcome.transfers, at=uow.clock.now(), cause=cause)
    await uow.audit(
        action,
        "team_budget",
        before.team_id,
        before=team_view(before),
        after=team_view(outcome.team),
    )


async def emit_releases(uow: BudgetUnitOfWork, outcome: Outcome) -> None:
    for release in outcome.releases:
        await uow.emit(
            TrancheReleasedV1(
                team_id=outcome.team.team_id,
                call_id=outcome.team.call_id,
                trigger=release.trigger,
                percent=release.percent,
                amount_cents=release.amount_cents,
                released_total_cents=outcome.team.released_cents,
                released_at=uow.clock.now(),
            )
        )


def team_view(team: TeamBudget) -> dict[str, object]:
    return {
        "status": team.status,
        "allocated_cents": team.allocated_cents,
        "released_cents": team.released_cents,
        "available_cents": team.available_cents,
        "pending_cents": team.pending_cents,
        "approved_cents": team.approved_cents,
        "returned_cents": team.returned_cents,
        "released_triggers": sorted(team.released_triggers),
    }
