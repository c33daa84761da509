"""The plan changes several handlers make: following budget's word, closing, rescheduling.

Each stores the plan, audits the change and emits the event that tells the others of it.
"""

from __future__ import annotations

from datetime import datetime

from cimis_contracts.milestones import MilestoneRescheduledV1, PlanCancelledV1
from services.milestones.app.ports import MilestonesUnitOfWork
from services.milestones.domain import plans as plan_rules
from services.milestones.domain.calendar import berlin_day
from services.milestones.domain.funding import CLOSED, Funding
from services.milestones.domain.plans import Milestone, Plan

# Who moved a plan's dates when budget's late allocation did.
BUDGET = "budget"


async def follow_funding(uow: MilestonesUnitOfWork, plan: Plan, funding: Funding) -> None:
    """Start the plan when budget allocated the team, close it when budget refused the team
    for good or closed its money; a wait on the waiting list leaves it waiting."""
    if funding.starts_plan:
        await _start(uow, plan, funding)
    elif funding.ends_plan:
        verb = "closed" if funding.status == CLOSED else "refused"
        await close_plan(uow, plan, reason=f"budget {verb} the team's money")


async def _start(uow: MilestonesUnitOfWork, plan: Plan, funding: Funding) -> None:
    assert funding.decided_at is not None, "an allocation has its time"
    started = plan_rules.start(
        plan, allocated_at=funding.decided_at, from_waiting_list=funding.from_waiting_list
    )
    if not started.changed:
        return
    await uow.plans.save(started.plan)
    assert started.plan.started_at is not None
    await uow.audit(
        "plan.started",
        "plan",
        plan.team_id,
        before={"status": plan.status},
        after={
            "status": started.plan.status,
            "started_at": started.plan.started_at.isoformat(),
            "waited_days": started.waited_days,
        },
    )
    if not started.moved:
        return
    allocated_on = berlin_day(funding.decided_at).isoformat()
    reason = (
        f"The team waited on the call's waiting list: budget allocated its money on "
        f"{allocated_on}, {started.waited_days} days after acceptance, and the plan starts then."
    )
    now = uow.clock.now()
    for before, after in started.moved:
        await announce_rescheduling(
            uow, started.plan, before, after, reason=reason, by=BUDGET, now=now
        )


async def close_plan(uow: MilestonesUnitOfWork, plan: Plan, *, reason: str) -> None:
    """Close a waiting or running plan, cancelling its open milestones; a completed or closed
    plan stays as it is."""
    cancellation = plan_rules.cancel(plan, now=uow.clock.now())
    if not cancellation.changed:
        return
    closed = cancellation.plan
    assert closed.cancelled_at is not None
    await uow.plans.save(closed)
    await uow.audit(
        "plan.cancelled",
        "plan",
        plan.team_id,
        before={"status": plan.status, "open": [m.id for m in cancellation.cancelled]},
        after={"status": closed.status, "reason": reason},
    )
    await uow.emit(
        PlanCancelledV1(
            team_id=plan.team_id,
            call_id=plan.call_id,
            cancelled_milestones=len(cancellation.cancelled),
            cancelled_at=closed.cancelled_at,
        )
    )


async def announce_rescheduling(
    uow: MilestonesUnitOfWork,
    plan: Plan,
    before: Milestone,
    after: Milestone,
    *,
    reason: str,
    by: str,
    now: datetime,
) -> None:
    """Audit and announce a milestone's new due date (budget reads a new end of the plan)."""
    await uow.audit(
        "milestone.rescheduled",
        "milestone",
        after.id,
        before={"due_date": before.due_date.isoformat()},
        after={"due_date": after.due_date.isoformat(), "reason": reason},
    )
    await uow.emit(
        MilestoneRescheduledV1(
            team_id=plan.team_id,
            call_id=plan.call_id,
            milestone_id=after.id,
            key=after.key,
            previous_due_date=before.due_date,
            due_date=after.due_date,
            reason=reason,
            rescheduled_by=by,
            rescheduled_at=now,
        )
    )
