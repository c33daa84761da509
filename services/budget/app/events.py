"""Handlers of the events budget consumes: calls open pots, teams get or lose their money,
milestones release tranches. A batch of them runs in one unit of work with the inbox: its
rows are loaded once by :func:`load_batch`, each handler then works in memory in event order,
and the unit writes every table once when it commits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.money import format_eur
from cimis_chassis.text import comparison_key
from cimis_contracts.base import EventData
from cimis_contracts.budget import BudgetClosedV1, TrancheKeptV1, TrancheWithdrawnV1
from cimis_contracts.intake import (
    CallBudgetIncreasedV1,
    CallOpenedV1,
    TeamAcceptedV1,
    TeamReassignedV1,
    TeamWithdrawnV1,
)
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneRescheduledV1,
    MilestoneWaivedV1,
    PlanCreatedV1,
)
from services.budget.app.allocation import allocate, allocate_waiting, emit_releases, store
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain import budgets
from services.budget.domain.budgets import Pot, TeamBudget
from services.budget.domain.tranches import ACCEPTANCE, plan_in_order


async def load_batch(uow: BudgetUnitOfWork, batch: list[tuple[EventData, CloudEvent]]) -> None:
    """Read (and lock) every team, pot and early completion a batch of events touches: three
    or four queries for the batch instead of several per event."""
    team_ids: set[str] = set()
    call_ids: set[str] = set()
    for payload, _ in batch:
        if isinstance(payload, CallOpenedV1 | CallBudgetIncreasedV1):
            call_ids.add(payload.call_id)
        elif isinstance(payload, TeamAcceptedV1):
            team_ids.add(payload.team_id)
            call_ids.add(payload.call_id)
        elif isinstance(
            payload,
            TeamWithdrawnV1
            | TeamReassignedV1
            | MilestoneCompletedV1
            | MilestoneWaivedV1
            | MilestoneReopenedV1
            | PlanCreatedV1
            | MilestoneRescheduledV1,
        ):
            team_ids.add(payload.team_id)
    # The calls opened or joined first: what the batch then reads of their pots and waiting
    # teams includes whatever another instance committed for them (see ports.Pots.lock).
    await uow.pots.lock(call_ids)
    await uow.teams.load(sorted(team_ids), lock=True)
    for team_id in team_ids:
        known = await uow.teams.get(team_id)
        if known is not None:
            call_ids.add(known.call_id)
    await uow.pots.load(sorted(call_ids), lock=True)
    await uow.early_completions.load(sorted(team_ids))


async def on_call_opened(uow: BudgetUnitOfWork, payload: CallOpenedV1, event: CloudEvent) -> None:
    await uow.pots.lock([payload.call_id])
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
        pot, _ = await allocate(uow, team, pot, f"event:{event.id}")


async def on_call_budget_increased(
    uow: BudgetUnitOfWork, payload: CallBudgetIncreasedV1, event: CloudEvent
) -> None:
    pot = await uow.pots.get(payload.call_id, lock=True)
    if pot is None:
        # The call's opening comes first on the call's partition; without it (a dead letter)
        # there is no pot to grow, and its replay brings the increased total anyway.
        return
    grown = budgets.increase_pot(
        pot, added_cents=payload.added_cents, total_cents=payload.total_budget_cents
    )
    if grown is None:
        return
    pot, funded = grown
    uow.pots.put(pot)
    uow.ledger.book([funded], at=uow.clock.now(), cause=f"event:{event.id}")
    await uow.audit(
        "pot.increased", "pot", pot.call_id, before=None, after={"added_cents": funded.amount_cents}
    )
    if pot.waiting_teams:
        await allocate_waiting(uow, pot, f"event:{event.id}")


async def on_team_accepted(
    uow: BudgetUnitOfWork, payload: TeamAcceptedV1, event: CloudEvent
) -> None:
    await uow.pots.lock([payload.call_id])
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
        await allocate(uow, team, pot, f"event:{event.id}")


async def on_team_reassigned(
    uow: BudgetUnitOfWork, payload: TeamReassignedV1, event: CloudEvent
) -> None:
    # After its team_accepted on the same topic and key: budget knows the team by now.
    team = await uow.teams.get(payload.team_id, lock=True)
    agent_id = comparison_key(payload.agent_id)
    if team is None or team.agent_id == agent_id:
        return
    uow.teams.put(replace(team, agent_id=agent_id))
    await uow.audit(
        "team.reassigned",
        "team_budget",
        team.team_id,
        before={"agent_id": team.agent_id},
        after={"agent_id": agent_id, "event": event.id},
    )


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
    await store(uow, outcome, before=team, cause=f"event:{event.id}", action="tranche.released")
    await emit_releases(uow, outcome)


async def on_milestone_waived(
    uow: BudgetUnitOfWork, payload: MilestoneWaivedV1, event: CloudEvent
) -> None:
    team = await uow.teams.get(payload.team_id, lock=True)
    if team is None:
        # A plan runs, and so can waive, only after budget allocated the team: budget knows
        # every team a waiver names. Kept in the audit all the same, should one ever not.
        await uow.audit(
            "milestone.waiver_for_unknown_team",
            "team_budget",
            payload.team_id,
            before=None,
            after={"key": payload.key, "event": event.id},
        )
        return
    pot = await uow.pots.get(team.call_id, lock=True)
    outcome = budgets.waive_milestone(team, pot, payload.key)
    if not outcome.changed:
        return
    await store(uow, outcome, before=team, cause=f"event:{event.id}", action="milestone.waived")
    await emit_releases(uow, outcome)


async def on_milestone_reopened(
    uow: BudgetUnitOfWork, payload: MilestoneReopenedV1, event: CloudEvent
) -> None:
    team = await uow.teams.get(payload.team_id, lock=True)
    if team is None:
        return  # budget never counted a milestone of a team it does not know
    pot = await uow.pots.get(team.call_id, lock=True)
    outcome = budgets.reopen_milestone(team, pot, payload.key)
    if not outcome.changed:
        return
    await store(uow, outcome, before=team, cause=f"event:{event.id}", action="milestone.reopened")
    now = uow.clock.now()
    for withdrawal in outcome.withdrawals:
        if not withdrawal.amount_cents:
            continue
        await uow.emit(
            TrancheWithdrawnV1(
                team_id=team.team_id,
                call_id=team.call_id,
                trigger=withdrawal.trigger,
                amount_cents=withdrawal.amount_cents,
                released_total_cents=outcome.team.released_cents,
                withdrawn_at=now,
            )
        )
    unspent = outcome.team.available_cents
    for kept in outcome.kept:
        if not kept.amount_cents:
            continue
        # Not silent: the office hears that the money stays with the team (notify).
        await uow.emit(
            TrancheKeptV1(
                team_id=team.team_id,
                call_id=team.call_id,
                trigger=kept.trigger,
                milestone_key=payload.key,
                amount_cents=kept.amount_cents,
                unspent_cents=unspent,
                reason_code="money-spent",
                reason=(
                    f"The {kept.trigger} tranche of {format_eur(kept.amount_cents)} EUR is spent "
                    f"(only {format_eur(unspent)} EUR unspent): it stays with the team."
                ),
                kept_at=now,
            )
        )


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
    await store(uow, outcome, before=team, cause=f"event:{event.id}", action="budget.closed")
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
        await allocate_waiting(uow, outcome.pot, f"event:{event.id}")


def _pot_view(pot: Pot) -> dict[str, object]:
    return {
        "total_cents": pot.total_cents,
        "available_cents": pot.available_cents,
        "allocated_cents": pot.allocated_cents,
    }
