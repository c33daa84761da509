"""A team's phase plan: its milestones, due dates, completion, rescheduling and cancellation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from cimis_chassis.text import same_ident
from services.milestones.domain.calendar import berlin_day, due_date_after, is_past_due
from services.milestones.domain.errors import MilestoneRuleViolation, NotFound, StateConflict

FINAL = "final"

# Stored milestone states; "overdue" is shown, never stored: it follows from the clock.
OPEN, COMPLETED, CANCELLED = "open", "completed", "cancelled"
OVERDUE = "overdue"
# Plan states.
ACTIVE = "active"
# Where a plan's steps came from: always its call's plan, as call-opened carried it. (Plans
# made before a team waited for its call may say "default": the programme default then used.)
FROM_CALL = "call"
# Due dates are counted on from (the next midnight, alert delays): a typo such as 9999 is
# refused here rather than overflowing the calendar later.
LATEST_DUE_DATE = date(2999, 12, 31)


@dataclass(frozen=True)
class PhaseStep:
    """One step of a call's plan, as intake (which owns and checks the plans) announced it."""

    key: str
    title: str
    days_after_acceptance: int


@dataclass(frozen=True)
class AcceptedTeam:
    """A team as its acceptance announced it: what its plan is made for."""

    team_id: str
    call_id: str
    agent_id: str
    title: str
    accepted_at: datetime


@dataclass(frozen=True)
class Milestone:
    id: str
    team_id: str
    key: str
    title: str
    position: int
    due_date: date
    status: str = OPEN
    completed_at: datetime | None = None
    completed_by: str | None = None
    note: str | None = None
    evidence_url: str | None = None


@dataclass(frozen=True)
class Progress:
    completed: int
    total: int
    overdue: int


@dataclass(frozen=True)
class Plan:
    team_id: str
    call_id: str
    agent_id: str
    team_title: str
    template: str
    accepted_at: datetime
    created_at: datetime
    milestones: tuple[Milestone, ...]
    status: str = ACTIVE
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None

    def milestone(self, milestone_id: str) -> Milestone:
        for milestone in self.milestones:
            if milestone.id == milestone_id:
                return milestone
        raise NotFound("milestone", milestone_id)

    def is_coached_by(self, agent_id: str) -> bool:
        return same_ident(self.agent_id, agent_id)

    def shown_status(self, milestone: Milestone, now: datetime) -> str:
        if is_overdue(milestone.status, self.status, milestone.due_date, now):
            return OVERDUE
        return milestone.status

    def progress(self, now: datetime) -> Progress:
        shown = [self.shown_status(m, now) for m in self.milestones]
        return Progress(
            completed=shown.count(COMPLETED), total=len(shown), overdue=shown.count(OVERDUE)
        )

    def with_milestone(self, changed: Milestone) -> Plan:
        return replace(
            self,
            milestones=tuple(changed if m.id == changed.id else m for m in self.milestones),
        )


def is_overdue(milestone_status: str, plan_status: str, due_date: date, now: datetime) -> bool:
    """Open, past its Berlin due day, in a plan still running (a finished plan alerts no one)."""
    return milestone_status == OPEN and plan_status == ACTIVE and is_past_due(due_date, now)


def create_plan(
    *,
    team_id: str,
    call_id: str,
    agent_id: str,
    team_title: str,
    accepted_at: datetime,
    steps: Sequence[PhaseStep],
    now: datetime,
    new_id: Callable[[], str],
) -> Plan:
    """The team's milestones from its call's plan, each due ``days_after_acceptance`` Berlin
    days after acceptance."""
    milestones = tuple(
        Milestone(
            id=new_id(),
            team_id=team_id,
            key=step.key,
            title=step.title,
            position=position,
            due_date=due_date_after(accepted_at, step.days_after_acceptance),
        )
        for position, step in enumerate(steps, start=1)
    )
    return Plan(
        team_id=team_id,
        call_id=call_id,
        agent_id=agent_id,
        team_title=team_title,
        template=FROM_CALL,
        accepted_at=accepted_at,
        created_at=now,
        milestones=milestones,
    )


@dataclass(frozen=True)
class Completion:
    plan: Plan
    milestone: Milestone
    changed: bool
    plan_completed: bool


def complete(
    plan: Plan,
    milestone_id: str,
    *,
    by: str,
    now: datetime,
    note: str | None,
    evidence_url: str | None,
) -> Completion:
    """Complete a milestone; completing it again changes nothing; ``final`` completes the plan."""
    milestone = plan.milestone(milestone_id)
    if milestone.status == COMPLETED:
        return Completion(plan, milestone, changed=False, plan_completed=False)
    if milestone.status == CANCELLED or plan.status == CANCELLED:
        raise StateConflict("plan-cancelled", "The team withdrew; its milestones are cancelled.")
    done = replace(
        milestone,
        status=COMPLETED,
        completed_at=now,
        completed_by=by,
        note=(note or "").strip() or None,
        evidence_url=evidence_url,
    )
    updated = plan.with_milestone(done)
    finishes = done.key == FINAL and plan.status == ACTIVE
    if finishes:
        updated = replace(updated, status=COMPLETED, completed_at=now)
    return Completion(updated, done, changed=True, plan_completed=finishes)


@dataclass(frozen=True)
class Rescheduling:
    plan: Plan
    before: Milestone
    after: Milestone

    @property
    def changed(self) -> bool:
        return self.before != self.after


def reschedule(
    plan: Plan, milestone_id: str, *, due_date: date, reason: str, now: datetime
) -> Rescheduling:
    """Move an open milestone of a running plan to a new Berlin day, today or later."""
    milestone = plan.milestone(milestone_id)
    if not reason.strip():
        raise MilestoneRuleViolation("invalid-reschedule", "Give a reason for the new due date.")
    if milestone.status == COMPLETED:
        raise StateConflict("milestone-completed", "A completed milestone keeps its date.")
    if milestone.status == CANCELLED or plan.status == CANCELLED:
        raise StateConflict("plan-cancelled", "The team withdrew; its milestones are cancelled.")
    if plan.status != ACTIVE:
        raise StateConflict("plan-completed", "The plan is completed; its dates are final.")
    if due_date == milestone.due_date:
        return Rescheduling(plan, milestone, milestone)
    if due_date > LATEST_DUE_DATE:
        raise MilestoneRuleViolation(
            "invalid-reschedule",
            f"The new due date must be on or before {LATEST_DUE_DATE.isoformat()}.",
        )
    today = berlin_day(now)
    if due_date < today:
        raise MilestoneRuleViolation(
            "due-date-in-past",
            f"The new due date {due_date.isoformat()} is before today ({today.isoformat()}, "
            "Europe/Berlin).",
        )
    moved = replace(milestone, due_date=due_date)
    return Rescheduling(plan.with_milestone(moved), milestone, moved)


@dataclass(frozen=True)
class Cancellation:
    plan: Plan
    cancelled: tuple[Milestone, ...]
    changed: bool


def cancel(plan: Plan, *, now: datetime) -> Cancellation:
    """The team withdrew: its open milestones are cancelled; a finished plan stays as it is."""
    if plan.status != ACTIVE:
        return Cancellation(plan, (), changed=False)
    cancelled = tuple(replace(m, status=CANCELLED) for m in plan.milestones if m.status == OPEN)
    by_id = {m.id: m for m in cancelled}
    updated = replace(
        plan,
        status=CANCELLED,
        cancelled_at=now,
        milestones=tuple(by_id.get(m.id, m) for m in plan.milestones),
    )
    return Cancellation(updated, cancelled, changed=True)
