"""Handlers of budget's events: a team's plan starts when budget allocates its money, and
closes when budget refuses it for good or closes it; a wait on the waiting list keeps it waiting.
Budget's tranches and payments are followed too: a milestone whose tranche is paid out stays.

Budget's events (keyed by team) and intake's may come in either order, so budget's word is
kept on the team (``uow.funding``) and followed by the plan when the plan is made, if later.
"""

from __future__ import annotations

from collections.abc import Sequence

from cimis_chassis.audit import snapshot
from cimis_chassis.envelope import CloudEvent
from cimis_contracts.base import EventData
from cimis_contracts.budget import (
    AllocationRefusedV1,
    BudgetAllocatedV1,
    BudgetClosedV1,
    PaymentRequestChangedV1,
    TrancheReleasedV1,
    TrancheWithdrawnV1,
)
from services.milestones.app.plan_changes import follow_funding
from services.milestones.app.ports import MilestonesUnitOfWork
from services.milestones.domain.funding import ALLOCATED, CLOSED, REFUSED, WAITING, Funding
from services.milestones.domain.payouts import TeamPayouts

BUDGET_EVENTS = (BudgetAllocatedV1, AllocationRefusedV1, BudgetClosedV1)


PAYOUT_EVENTS = (TrancheReleasedV1, TrancheWithdrawnV1, PaymentRequestChangedV1)


def budget_teams(batch: Sequence[tuple[EventData, CloudEvent]]) -> list[str]:
    """The teams a batch's budget events speak of, for the batch loader."""
    return [p.team_id for p, _ in batch if isinstance(p, BUDGET_EVENTS)]


def payout_teams(batch: Sequence[tuple[EventData, CloudEvent]]) -> list[str]:
    """The teams whose tranches or payments a batch's budget events change."""
    return [p.team_id for p, _ in batch if isinstance(p, PAYOUT_EVENTS)]


async def on_budget_allocated(
    uow: MilestonesUnitOfWork, payload: BudgetAllocatedV1, event: CloudEvent
) -> None:
    word = Funding(
        team_id=payload.team_id,
        call_id=payload.call_id,
        status=ALLOCATED,
        decided_at=payload.allocated_at,
        from_waiting_list=payload.from_waiting_list,
    )
    await _hear(uow, word, event)


async def on_allocation_refused(
    uow: MilestonesUnitOfWork, payload: AllocationRefusedV1, event: CloudEvent
) -> None:
    word = Funding(
        team_id=payload.team_id,
        call_id=payload.call_id,
        status=WAITING if payload.team_waits else REFUSED,
        decided_at=payload.refused_at,
    )
    await _hear(uow, word, event)


async def on_budget_closed(
    uow: MilestonesUnitOfWork, payload: BudgetClosedV1, event: CloudEvent
) -> None:
    word = Funding(
        team_id=payload.team_id,
        call_id=payload.call_id,
        status=CLOSED,
        decided_at=payload.closed_at,
    )
    await _hear(uow, word, event)


async def _hear(uow: MilestonesUnitOfWork, word: Funding, event: CloudEvent) -> None:
    # Budget's word first, then the plan: a plan made meanwhile by another instance is read
    # only once that instance has committed (see ports.Fundings).
    known = await uow.funding.get(word.team_id, lock=True)
    if known is not None and not known.yields_to(word):
        return
    await uow.funding.put(word)
    await uow.audit(
        "team.funding",
        "team",
        word.team_id,
        before=None if known is None else snapshot(known),
        after=snapshot(word) | {"event": event.id},
    )
    plan = await uow.plans.get(word.team_id, lock=True)
    if plan is not None:
        await follow_funding(uow, plan, word)


async def on_tranche_released(
    uow: MilestonesUnitOfWork, payload: TrancheReleasedV1, event: CloudEvent
) -> None:
    await _follow_payouts(uow, payload.team_id, payload.call_id, event, released=payload)


async def on_tranche_withdrawn(
    uow: MilestonesUnitOfWork, payload: TrancheWithdrawnV1, event: CloudEvent
) -> None:
    await _follow_payouts(uow, payload.team_id, payload.call_id, event, withdrawn=payload)


async def on_payment_request_changed(
    uow: MilestonesUnitOfWork, payload: PaymentRequestChangedV1, event: CloudEvent
) -> None:
    await _follow_payouts(uow, payload.team_id, payload.call_id, event, paid=payload)


async def _follow_payouts(
    uow: MilestonesUnitOfWork,
    team_id: str,
    call_id: str,
    event: CloudEvent,
    *,
    released: TrancheReleasedV1 | None = None,
    withdrawn: TrancheWithdrawnV1 | None = None,
    paid: PaymentRequestChangedV1 | None = None,
) -> None:
    known = await uow.payouts.get(team_id, lock=True)
    payouts = known or TeamPayouts(team_id=team_id, call_id=call_id)
    if released is not None:
        payouts = payouts.release(released.trigger, released.amount_cents)
    if withdrawn is not None:
        payouts = payouts.withdraw(withdrawn.trigger)
    if paid is not None:
        # Every state of a payment request carries what the team was paid in total so far.
        payouts = payouts.paid(paid.paid_total_cents)
    if payouts != known:
        await uow.payouts.put(payouts)
