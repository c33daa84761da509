"""Handlers of the events budget consumes: calls open pots, teams get or lose their money,
milestones release tranches. A batch of them runs in one unit of work with the inbox: its
rows are loaded once by :func:`load_batch`, each handler then works in memory in event order,
and the unit writes every table once when it commits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.text import comparison_key
from cimis_contracts.base import EventData
from cimis_contracts.budget import (
    AllocationRefusedV1,
    BudgetAllocatedV1,
    BudgetClosedV1,
    TrancheReleasedV1,
)
from cimis_contracts.intake import CallOpenedV1, TeamAcceptedV1, TeamWithdrawnV1
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneRescheduledV1,
    PlanCreatedV1,
)
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain import budgets
from services.budget.domain.budgets import Outcome, Pot, TeamBudget
from services.budget.domain.tranches import ACCEPTANCE, plan_in_order


async def load_batch(uow: BudgetUnitOfWork, batch: list[tuple[EventData, CloudEvent]]) -> None:
    """Read (and lock) every team, pot and early completion a batch of events touches: three
    or four queries for the batch instead of several per event."""
    team_ids: set[str] = set()
    call_ids: set[str] = set()
    for payload, _ in batch:
        if isinstance(payload, CallOpenedV1):
            call_ids.add(payload.call_id)
        elif isinstance(payload, TeamAcceptedV1):
            team_ids.add(payload.team_id)
            call_ids.add(payload.call_id)
        elif isinstance(
            payload,
            TeamWithdrawnV1 | MilestoneCompletedV1 | PlanCreatedV1 | MilestoneRescheduledV1,
        ):
            team_ids.add(payload.team_id)
    await uow.teams.load(sorted(team_ids), lock=True)
    for team_id in team_ids:
        known = await uow.teams.get(team_id)
        if known is not None:
            call_ids.add(known.call_id)
    await uow.pots.load(sorted(call_ids), lock=True)
    await uow.early_completions.load(sorted(team_ids))


async def on_call_opened(uow: BudgetUnitOfWork, payload: CallOpenedV1, event: CloudEvent) -> None:
    if await uow.pots.get(payload.call_id, lock=True) is not None:
        return
    pot, funded = budgets.open_pot(
        call_id=payload.call_id,
        title=payload.title,
        total_cents=payload.total_budget_cents,
        max_team_cents=payload.max_team_budget_cents,
        plan=plan_in_order(
            ((t.milestone or ACCEPTANCE, t.percent) for t in payload.tranches),
            phase_plan=[step.key for step in payload.phase_plan],
        ),
        settlement_days=payload.settlement_days,
        cost_plan_tolerance_percent=payload.cost_plan_tolerance_percent,
    )
    now = uow.clock.now()
    uow.pots.add(pot, opened_at=now)
    uow.ledger.book([funded], at=now, cause=f"event:{event.id}")
    await uow.audit("pot.opened", "pot", pot.call_id, before=None, after=_pot_view(pot))
    # Team acceptances that overtook their call's opening wait for it, in acceptance order.
    for team in await uow.teams.in_line(payload.call_id, budgets.AWAITING_CALL):
        pot, _ = await _allocate(uow, team, pot, event)


async def on_team_accepted(
    uow: BudgetUnitOfWork, payload: TeamAcceptedV1, event: CloudEvent
) -> None:
    if await uow.teams.get(payload.team_id) is not None:
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
        completed_milestones=await uow.early_completions.take(payload.team_id),
    )
    uow.teams.add(team)
    pot = await uow.pots.get(payload.call_id, lock=True)
    if pot is not None:
        await _allocate(uow, team, pot, event)


async def _allocate(
    uow: BudgetUnitOfWork, team: TeamBudget, pot: Pot, event: CloudEvent
) -> tuple[Pot, TeamBudget]:
    """Allocate ``team`` from ``pot`` (or put it on the waiting list, or refuse it) and
    announce it; returns the pot and the team as they are now."""
    outcome = budgets.allocate(team, pot)
    assert outcome.pot is not None
    if not outcome.changed:
        return pot, team
    await _store(uow, outcome, before=team, event=event, action="budget.allocated")
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
    await _emit_releases(uow, outcome)
    return outcome.pot, outcome.team


async def on_milestone_completed(
    uow: BudgetUnitOfWork, payload: MilestoneCompletedV1, event: CloudEvent
) -> None:
    team = await uow.teams.get(payload.team_id, lock=True)
    if team is None:
        await uow.early_completions.note(payload.team_id, payload.key)
        return
    pot = await uow.pots.get(team.call_id, lock=True)
    outcome = budgets.complete_milestone(team, pot, payload.key)
    if not outcome.changed:
        return
    await _store(uow, outcome, before=team, event=event, action="tranche.released")
    await _emit_releases(uow, outcome)


async def on_plan_created(uow: BudgetUnitOfWork, payload: PlanCreatedV1, event: CloudEvent) -> None:
    await _plan_ends(uow, payload.team_id, max(m.due_date for m in payload.milestones), event)


async def on_milestone_rescheduled(
    uow: BudgetUnitOfWork, payload: MilestoneRescheduledV1, event: CloudEvent
) -> None:
    # A phase plan always ends with "final": its due date is the plan's end.
    if payload.key == "final":
        await _plan_ends(uow, payload.team_id, payload.due_date, event)


async def _plan_ends(uow: BudgetUnitOfWork, team_id: str, ends_on: date, event: CloudEvent) -> None:
    """The plan's end bounds the team's funding period (plus the call's settlement period).

    A plan announced before budget heard of its team is not kept: until a rescheduling of its
    end arrives, that team's period stays open at the end (its start still applies).
    """
    team = await uow.teams.get(team_id, lock=True)
    if team is None or team.plan_ends_on == ends_on:
        return
    changed = replace(team, plan_ends_on=ends_on)
    uow.teams.put(changed)
    await uow.audit(
        "budget.plan_end_noted",
        "team_budget",
        team_id,
        before={"plan_ends_on": _day(team.plan_ends_on)},
        after={"plan_ends_on": _day(ends_on), "event": event.id},
    )


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


async def on_team_withdrawn(
    uow: BudgetUnitOfWork, payload: TeamWithdrawnV1, event: CloudEvent
) -> None:
    team = await uow.teams.get(payload.team_id, lock=True)
    if team is None:
        return  # never accepted, so never funded
    pot = await uow.pots.get(team.call_id, lock=True)
    outcome = budgets.close(team, pot, uow.clock.now())
    if not outcome.changed:
        return
    await _store(uow, outcome, before=team, event=event, action="budget.closed")
    await uow.emit(
        BudgetClosedV1(
            team_id=team.team_id,
            call_id=team.call_id,
            returned_cents=outcome.notes.get("returned_cents", 0),
            approved_cents=outcome.team.approved_cents,
            closed_at=uow.clock.now(),
        )
    )
    # Money came back, or the head of the waiting list left it: those behind may fit now.
    if outcome.pot is not None and outcome.pot.waiting_teams:
        await _allocate_waiting(uow, outcome.pot, event)


async def _allocate_waiting(uow: BudgetUnitOfWork, pot: Pot, event: CloudEvent) -> None:
    """Money came back to the pot: allocate the waiting teams it can now carry, strictly in
    acceptance order (a later, smaller team does not overtake an earlier one)."""
    for team in await uow.teams.in_line(pot.call_id, budgets.WAITING):
        pot, after = await _allocate(uow, team, pot, event)
        if after.status == budgets.WAITING:  # those behind it wait too
            return


async def _store(
    uow: BudgetUnitOfWork,
    outcome: Outcome,
    *,
    before: TeamBudget,
    event: CloudEvent,
    action: str,
) -> None:
    uow.teams.put(outcome.team)
    if outcome.pot is not None:
        uow.pots.put(outcome.pot)
    uow.ledger.book(outcome.transfers, at=uow.clock.now(), cause=f"event:{event.id}")
    await uow.audit(
        action,
        "team_budget",
        before.team_id,
        before=_team_view(before),
        after=_team_view(outcome.team),
    )


async def _emit_releases(uow: BudgetUnitOfWork, outcome: Outcome) -> None:
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
