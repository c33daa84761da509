"""The milestones command handlers: load, apply the rule, store, audit and emit in one unit."""

from __future__ import annotations

from cimis_chassis.audit import snapshot
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneReportedV1,
    MilestoneWaivedV1,
    PlanCompletedV1,
)
from services.milestones.app.commands import (
    Actor,
    CompleteMilestone,
    ConfirmMilestone,
    ReopenMilestone,
    RescheduleMilestone,
    WaiveMilestone,
)
from services.milestones.app.plan_changes import announce_rescheduling
from services.milestones.app.ports import MilestonesUnitOfWork
from services.milestones.domain import plans as plan_rules
from services.milestones.domain.errors import NotFound, NotYourTeam
from services.milestones.domain.plans import Milestone, Plan


def ensure_access(plan: Plan, actor: Actor) -> None:
    """Agents see and act on the teams they coach only; everyone else passed the role gate."""
    if actor.is_agent and not plan.is_coached_by(actor.name):
        raise NotYourTeam("Agents may only see and act on the teams they coach.")


async def _plan_of(uow: MilestonesUnitOfWork, milestone_id: str, actor: Actor) -> Plan:
    plan = await uow.plans.of_milestone(milestone_id, lock=True)
    if plan is None:
        raise NotFound("milestone", milestone_id)
    ensure_access(plan, actor)
    return plan


async def complete_milestone(
    uow: MilestonesUnitOfWork, cmd: CompleteMilestone
) -> tuple[Plan, Milestone]:
    """Report the milestone done: it is completed once another staff member confirms it."""
    plan = await _plan_of(uow, cmd.milestone_id, cmd.actor)
    now = uow.clock.now()
    done = plan_rules.report(
        plan,
        cmd.milestone_id,
        by=cmd.actor.name,
        now=now,
        note=cmd.note,
        evidence_url=cmd.evidence_url,
    )
    if not done.changed:
        return plan, done.milestone
    await _record(uow, plan, done, "milestone.reported")
    assert done.milestone.reported_at is not None
    await uow.emit(
        MilestoneReportedV1(
            team_id=plan.team_id,
            call_id=plan.call_id,
            milestone_id=done.milestone.id,
            key=done.milestone.key,
            reported_by=cmd.actor.name,
            reported_at=done.milestone.reported_at,
            note=done.milestone.note,
            evidence_url=done.milestone.evidence_url,
        )
    )
    return done.plan, done.milestone


async def confirm_milestone(
    uow: MilestonesUnitOfWork, cmd: ConfirmMilestone
) -> tuple[Plan, Milestone]:
    plan = await _plan_of(uow, cmd.milestone_id, cmd.actor)
    now = uow.clock.now()
    done = plan_rules.confirm(plan, cmd.milestone_id, by=cmd.actor.name, now=now)
    if not done.changed:
        return plan, done.milestone
    await _record(uow, plan, done, "milestone.completed")
    assert done.milestone.completed_at is not None
    await uow.emit(
        MilestoneCompletedV1(
            team_id=plan.team_id,
            call_id=plan.call_id,
            milestone_id=done.milestone.id,
            key=done.milestone.key,
            completed_by=cmd.actor.name,
            completed_at=done.milestone.completed_at,
            note=done.milestone.note,
            evidence_url=done.milestone.evidence_url,
            reported_by=done.milestone.reported_by,
        )
    )
    await _maybe_plan_completed(uow, plan, done)
    return done.plan, done.milestone


async def reopen_milestone(
    uow: MilestonesUnitOfWork, cmd: ReopenMilestone
) -> tuple[Plan, Milestone]:
    plan = await _plan_of(uow, cmd.milestone_id, cmd.actor)
    now = uow.clock.now()
    # Locked: a payment budget reports meanwhile is counted before or waits for the reopen.
    payouts = await uow.payouts.get(plan.team_id, lock=True)
    opened = plan_rules.reopen(
        plan,
        cmd.milestone_id,
        reason=cmd.reason,
        now=now,
        paid_out=payouts.paid_out() if payouts is not None else (),
    )
    await uow.plans.save(opened.plan)
    # Open again, it alerts again: at once if its day has passed, the office after the period.
    await uow.overdue.rearm(opened.milestone.id, opened.milestone.due_date)
    await uow.audit(
        "milestone.reopened",
        "milestone",
        opened.milestone.id,
        before=snapshot(opened.before),
        after=snapshot(opened.milestone) | {"reason": cmd.reason.strip()},
    )
    await uow.emit(
        MilestoneReopenedV1(
            team_id=plan.team_id,
            call_id=plan.call_id,
            milestone_id=opened.milestone.id,
            key=opened.milestone.key,
            previous_status=opened.before.status,
            reason=cmd.reason.strip(),
            reopened_by=cmd.actor.name,
            reopened_at=now,
        )
    )
    return opened.plan, opened.milestone


async def waive_milestone(uow: MilestonesUnitOfWork, cmd: WaiveMilestone) -> tuple[Plan, Milestone]:
    plan = await _plan_of(uow, cmd.milestone_id, cmd.actor)
    now = uow.clock.now()
    done = plan_rules.waive(plan, cmd.milestone_id, by=cmd.actor.name, reason=cmd.reason, now=now)
    if not done.changed:
        return plan, done.milestone
    await _record(uow, plan, done, "milestone.waived")
    await uow.emit(
        MilestoneWaivedV1(
            team_id=plan.team_id,
            call_id=plan.call_id,
            milestone_id=done.milestone.id,
            key=done.milestone.key,
            reason=cmd.reason.strip(),
            waived_by=cmd.actor.name,
            waived_at=now,
        )
    )
    await _maybe_plan_completed(uow, plan, done)
    return done.plan, done.milestone


async def _record(
    uow: MilestonesUnitOfWork, plan: Plan, done: plan_rules.Completion, action: str
) -> None:
    """Store a milestone's step and audit it, before and after."""
    await uow.plans.save(done.plan)
    await uow.audit(
        action,
        "milestone",
        done.milestone.id,
        before=snapshot(plan.milestone(done.milestone.id)),
        after=snapshot(done.milestone),
    )


async def _maybe_plan_completed(
    uow: MilestonesUnitOfWork, plan: Plan, done: plan_rules.Completion
) -> None:
    """The step that made every milestone completed or waived completes the plan."""
    if not done.plan_completed:
        return
    assert done.plan.completed_at is not None
    await uow.audit(
        "plan.completed",
        "plan",
        plan.team_id,
        before={"status": plan.status},
        after={"status": done.plan.status, "completed_at": done.plan.completed_at.isoformat()},
    )
    await uow.emit(
        PlanCompletedV1(
            team_id=plan.team_id, call_id=plan.call_id, completed_at=done.plan.completed_at
        )
    )


async def reschedule_milestone(
    uow: MilestonesUnitOfWork, cmd: RescheduleMilestone
) -> tuple[Plan, Milestone]:
    plan = await _plan_of(uow, cmd.milestone_id, cmd.actor)
    now = uow.clock.now()
    moved = plan_rules.reschedule(
        plan, cmd.milestone_id, due_date=cmd.due_date, reason=cmd.reason, now=now
    )
    if not moved.changed:
        return plan, moved.after
    await uow.plans.save(moved.plan)
    await announce_rescheduling(
        uow,
        moved.plan,
        moved.before,
        moved.after,
        reason=cmd.reason.strip(),
        by=cmd.actor.name,
        now=now,
    )
    return moved.plan, moved.after
