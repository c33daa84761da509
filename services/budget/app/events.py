"""Handlers of the events budget consumes: calls open pots, teams get or lose their money,
milestones release tranches. Each runs in the consumer's transaction with the inbox."""

from __future__ import annotations

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.text import comparison_key
from cimis_chassis.unit_of_work import UnitOfWork
from cimis_contracts.budget import (
    AllocationRefusedV1,
    BudgetAllocatedV1,
    BudgetClosedV1,
    TrancheReleasedV1,
)
from cimis_contracts.intake import CallOpenedV1, TeamAcceptedV1, TeamWithdrawnV1
from cimis_contracts.milestones import MilestoneCompletedV1
from services.budget.adapters.ledger_store import book
from services.budget.adapters.repository import BudgetRepository
from services.budget.domain import budgets
from services.budget.domain.budgets import Outcome, Pot, TeamBudget
from services.budget.domain.tranches import ACCEPTANCE, TrancheRule


async def on_call_opened(uow: UnitOfWork, payload: CallOpenedV1, event: CloudEvent) -> None:
    repo = BudgetRepository(uow.session)
    if await repo.get_pot(payload.call_id) is not None:
        return
    pot, funded = budgets.open_pot(
        call_id=payload.call_id,
        title=payload.title,
        total_cents=payload.total_budget_cents,
        max_team_cents=payload.max_team_budget_cents,
        plan=tuple(TrancheRule(t.milestone or ACCEPTANCE, t.percent) for t in payload.tranches),
    )
    now = uow.clock.now()
    await repo.add_pot(pot, opened_at=now)
    await book(uow.session, [funded], at=now, cause=f"event:{event.id}")
    await uow.audit("pot.opened", "pot", pot.call_id, before=None, after=_pot_view(pot))
    # Team acceptances that overtook their call's opening wait for it, in acceptance order.
    for team in await repo.teams_awaiting_call(payload.call_id):
        pot = await _allocate(uow, repo, team, pot, event)


async def on_team_accepted(uow: UnitOfWork, payload: TeamAcceptedV1, event: CloudEvent) -> None:
    repo = BudgetRepository(uow.session)
    if await repo.get_team(payload.team_id) is not None:
        return
    team = TeamBudget(
        team_id=payload.team_id,
        call_id=payload.call_id,
        # Ids compare in any case and Unicode form: kept as their comparison key.
        agent_id=comparison_key(payload.agent_id),
        title=payload.title,
        input_vat_deductible=payload.input_vat_deductible,
        requested_cents=payload.budget_cents,
        accepted_at=payload.accepted_at,
        completed_milestones=await repo.take_early_completions(payload.team_id),
    )
    await repo.add_team(team)
    pot = await repo.get_pot(payload.call_id, for_update=True)
    if pot is not None:
        await _allocate(uow, repo, team, pot, event)


async def _allocate(
    uow: UnitOfWork, repo: BudgetRepository, team: TeamBudget, pot: Pot, event: CloudEvent
) -> Pot:
    outcome = budgets.allocate(team, pot)
    assert outcome.pot is not None
    await _store(uow, repo, outcome, before=team, event=event, action="budget.allocated")
    now = uow.clock.now()
    if outcome.team.status == budgets.REFUSED:
        await uow.emit(
            AllocationRefusedV1(
                team_id=team.team_id,
                call_id=team.call_id,
                requested_cents=team.requested_cents,
                pot_available_cents=pot.available_cents,
                reason_code=outcome.team.refusal_code or "refused",
                reason=outcome.team.refusal_reason or "",
                refused_at=now,
            )
        )
        return outcome.pot
    await uow.emit(
        BudgetAllocatedV1(
            team_id=team.team_id,
            call_id=team.call_id,
            allocated_cents=outcome.team.allocated_cents,
            pot_available_cents=outcome.pot.available_cents,
            allocated_at=now,
        )
    )
    await _emit_releases(uow, outcome)
    return outcome.pot


async def on_milestone_completed(
    uow: UnitOfWork, payload: MilestoneCompletedV1, event: CloudEvent
) -> None:
    repo = BudgetRepository(uow.session)
    team = await repo.get_team(payload.team_id, for_update=True)
    if team is None:
        await repo.note_early_completion(payload.team_id, payload.key)
        return
    pot = await repo.get_pot(team.call_id, for_update=True)
    outcome = budgets.complete_milestone(team, pot, payload.key)
    if not outcome.changed:
        return
    await _store(uow, repo, outcome, before=team, event=event, action="tranche.released")
    await _emit_releases(uow, outcome)


async def on_team_withdrawn(uow: UnitOfWork, payload: TeamWithdrawnV1, event: CloudEvent) -> None:
    repo = BudgetRepository(uow.session)
    team = await repo.get_team(payload.team_id, for_update=True)
    if team is None:
        return  # never accepted, so never funded
    pot = await repo.get_pot(team.call_id, for_update=True)
    outcome = budgets.close(team, pot, uow.clock.now())
    if not outcome.changed:
        return
    await _store(uow, repo, outcome, before=team, event=event, action="budget.closed")
    await uow.emit(
        BudgetClosedV1(
            team_id=team.team_id,
            call_id=team.call_id,
            returned_cents=outcome.notes.get("returned_cents", 0),
            approved_cents=outcome.team.approved_cents,
            closed_at=uow.clock.now(),
        )
    )


async def _store(
    uow: UnitOfWork,
    repo: BudgetRepository,
    outcome: Outcome,
    *,
    before: TeamBudget,
    event: CloudEvent,
    action: str,
) -> None:
    await repo.save_team(outcome.team)
    if outcome.pot is not None:
        await repo.save_pot(outcome.pot)
    await book(uow.session, outcome.transfers, at=uow.clock.now(), cause=f"event:{event.id}")
    await uow.audit(
        action,
        "team_budget",
        before.team_id,
        before=_team_view(before),
        after=_team_view(outcome.team),
    )


async def _emit_releases(uow: UnitOfWork, outcome: Outcome) -> None:
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


def _team_view(team: TeamBudget) -> dict[str, object]:
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


def _pot_view(pot: Pot) -> dict[str, object]:
    return {
        "total_cents": pot.total_cents,
        "available_cents": pot.available_cents,
        "allocated_cents": pot.allocated_cents,
    }
