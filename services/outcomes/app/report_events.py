"""Handlers that keep the funder's report's facts: each event becomes dated facts of its call.

The inbox applies an event once with its facts (one transaction), so facts are appended, and
a reversal or a returned payment is a fact of its own with a negative amount.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Protocol

from cimis_chassis.envelope import CloudEvent
from cimis_contracts.budget import (
    BudgetAllocatedV1,
    BudgetClosedV1,
    CostPlanChangedV1,
    ExpenseApprovedV1,
    ExpenseReversedV1,
    PaymentRequestChangedV1,
    TrancheReleasedV1,
    TrancheWithdrawnV1,
)
from cimis_contracts.intake import (
    ApplicationSubmittedV1,
    CallBudgetIncreasedV1,
    CallOpenedV1,
    TeamAcceptedV1,
    TeamProposedV1,
    TeamWithdrawnV1,
)
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneReportedV1,
    MilestoneRescheduledV1,
    MilestoneWaivedV1,
    PlanCancelledV1,
    PlanCreatedV1,
)
from services.outcomes.app.ports import OutcomesUnitOfWork
from services.outcomes.domain import report as r
from services.outcomes.domain.costs import POSITIONS
from services.outcomes.domain.report import AppliedFact, MilestoneStep, ReportFact


async def on_call_opened(uow: OutcomesUnitOfWork, payload: CallOpenedV1, event: CloudEvent) -> None:
    opened = await uow.report.open_call(
        payload.call_id,
        payload.title,
        list(payload.districts),
        event.time,
        payload.burn_rate_tolerance_percent,
    )
    if opened:
        await uow.report.record(
            ReportFact(
                payload.call_id, None, r.POT, None, payload.total_budget_cents, None, event.time
            )
        )


async def on_call_budget_increased(
    uow: OutcomesUnitOfWork, payload: CallBudgetIncreasedV1, event: CloudEvent
) -> None:
    await uow.report.record(
        ReportFact(
            payload.call_id, None, r.POT, None, payload.added_cents, None, payload.increased_at
        )
    )


async def on_application_submitted(
    uow: OutcomesUnitOfWork, payload: ApplicationSubmittedV1, event: CloudEvent
) -> None:
    await uow.report.applied(
        AppliedFact(
            application_id=payload.application_id,
            call_id=payload.call_id,
            kind=payload.kind,
            district=payload.district,
            district_code=payload.district_code,
            eligible=payload.eligible,
            reason_codes=tuple(payload.reason_codes),
            received_at=payload.received_at,
        )
    )


async def on_team_proposed(
    uow: OutcomesUnitOfWork, payload: TeamProposedV1, event: CloudEvent
) -> None:
    await uow.report.record(_of(payload, r.PROPOSED, payload.budget_cents, payload.proposed_at))


async def on_team_accepted(
    uow: OutcomesUnitOfWork, payload: TeamAcceptedV1, event: CloudEvent
) -> None:
    accepted = _of(payload, r.ACCEPTED, payload.budget_cents, payload.accepted_at)
    await uow.report.record(replace(accepted, district_code=payload.district_code))


async def on_team_withdrawn(
    uow: OutcomesUnitOfWork, payload: TeamWithdrawnV1, event: CloudEvent
) -> None:
    await uow.report.record(_of(payload, r.WITHDRAWN, 0, payload.withdrawn_at))


async def on_budget_allocated(
    uow: OutcomesUnitOfWork, payload: BudgetAllocatedV1, event: CloudEvent
) -> None:
    await uow.report.record(
        _of(payload, r.ALLOCATED, payload.allocated_cents, payload.allocated_at)
    )


async def on_tranche_released(
    uow: OutcomesUnitOfWork, payload: TrancheReleasedV1, event: CloudEvent
) -> None:
    await uow.report.record(_of(payload, r.RELEASED, payload.amount_cents, payload.released_at))


async def on_tranche_withdrawn(
    uow: OutcomesUnitOfWork, payload: TrancheWithdrawnV1, event: CloudEvent
) -> None:
    await uow.report.record(_of(payload, r.RELEASED, -payload.amount_cents, payload.withdrawn_at))


async def on_expense_approved(
    uow: OutcomesUnitOfWork, payload: ExpenseApprovedV1, event: CloudEvent
) -> None:
    fact = _of(payload, r.APPROVED, payload.fundable_cents, payload.approved_at)
    await uow.report.record(replace(fact, position=payload.position))


async def on_expense_reversed(
    uow: OutcomesUnitOfWork, payload: ExpenseReversedV1, event: CloudEvent
) -> None:
    fact = _of(payload, r.APPROVED, -payload.fundable_cents, payload.reversed_at)
    await uow.report.record(replace(fact, position=payload.position))


async def on_payment_request_changed(
    uow: OutcomesUnitOfWork, payload: PaymentRequestChangedV1, event: CloudEvent
) -> None:
    # Money leaves when a payment is paid, and comes back when the bank returns it. The bank
    # may return an exported payment that was never marked paid: only one that carries the
    # value date of its payment was counted as paid.
    if payload.status == "paid":
        signs = {r.PAID: 1}
    elif payload.status == "returned" and payload.value_date is not None:
        signs = {r.PAID: -1, r.RETURNED: 1}
    elif payload.status == "returned":
        signs = {r.RETURNED: 1}
    else:
        return
    await uow.report.record(
        *(
            ReportFact(
                payload.call_id,
                payload.team_id,
                fact,
                line.position,
                sign * line.amount_cents,
                None,
                payload.changed_at,
            )
            for fact, sign in signs.items()
            for line in payload.positions
        )
    )


async def on_cost_plan_changed(
    uow: OutcomesUnitOfWork, payload: CostPlanChangedV1, event: CloudEvent
) -> None:
    # A proposal waiting for its second person plans nothing yet; its approval comes again,
    # in force. Every line is recorded, zero for one the version leaves out, so that the
    # version replaces the one before it line by line.
    if payload.status != "in_force":
        return
    planned: dict[str, int] = {line.position: line.planned_cents for line in payload.lines}
    await uow.report.record(
        *(
            ReportFact(
                payload.call_id,
                payload.team_id,
                r.PLANNED_COST,
                position,
                planned.get(position, 0),
                None,
                payload.changed_at,
            )
            for position in sorted({*POSITIONS, *planned})
        )
    )


async def on_budget_closed(
    uow: OutcomesUnitOfWork, payload: BudgetClosedV1, event: CloudEvent
) -> None:
    await uow.report.record(
        _of(payload, r.UNSPENT_RETURNED, payload.returned_cents, payload.closed_at)
    )


async def on_plan_created(
    uow: OutcomesUnitOfWork, payload: PlanCreatedV1, event: CloudEvent
) -> None:
    await uow.report.milestone_steps(
        *(
            MilestoneStep(
                payload.call_id,
                payload.team_id,
                m.milestone_id,
                r.PLANNED,
                m.due_date,
                payload.created_at,
            )
            for m in payload.milestones
        )
    )


async def on_milestone_rescheduled(
    uow: OutcomesUnitOfWork, payload: MilestoneRescheduledV1, event: CloudEvent
) -> None:
    await uow.report.milestone_steps(
        MilestoneStep(
            payload.call_id,
            payload.team_id,
            payload.milestone_id,
            r.RESCHEDULED,
            payload.due_date,
            payload.rescheduled_at,
        )
    )


async def on_milestone_reported(
    uow: OutcomesUnitOfWork, payload: MilestoneReportedV1, event: CloudEvent
) -> None:
    await _step(
        uow, payload.call_id, payload.team_id, payload.milestone_id, r.REPORTED, payload.reported_at
    )


async def on_milestone_completed(
    uow: OutcomesUnitOfWork, payload: MilestoneCompletedV1, event: CloudEvent
) -> None:
    await _step(
        uow,
        payload.call_id,
        payload.team_id,
        payload.milestone_id,
        r.COMPLETED,
        payload.completed_at,
    )


async def on_milestone_waived(
    uow: OutcomesUnitOfWork, payload: MilestoneWaivedV1, event: CloudEvent
) -> None:
    await _step(
        uow, payload.call_id, payload.team_id, payload.milestone_id, r.WAIVED, payload.waived_at
    )


async def on_milestone_reopened(
    uow: OutcomesUnitOfWork, payload: MilestoneReopenedV1, event: CloudEvent
) -> None:
    await _step(
        uow, payload.call_id, payload.team_id, payload.milestone_id, r.REOPENED, payload.reopened_at
    )


async def on_plan_cancelled(
    uow: OutcomesUnitOfWork, payload: PlanCancelledV1, event: CloudEvent
) -> None:
    await _step(
        uow, payload.call_id, payload.team_id, r.WHOLE_PLAN, r.CANCELLED, payload.cancelled_at
    )


class _TeamEvent(Protocol):
    @property
    def call_id(self) -> str: ...

    @property
    def team_id(self) -> str: ...


def _of(payload: _TeamEvent, fact: str, cents: int, at: datetime) -> ReportFact:
    """A team's fact of its call (no budget line, no district unless replaced)."""
    return ReportFact(payload.call_id, payload.team_id, fact, None, cents, None, at)


async def _step(
    uow: OutcomesUnitOfWork, call_id: str, team_id: str, milestone_id: str, step: str, at: datetime
) -> None:
    await uow.report.milestone_steps(MilestoneStep(call_id, team_id, milestone_id, step, None, at))
