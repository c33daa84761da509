"""A team's phase plan: its milestones, due dates, start, completion, rescheduling and closing."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from cimis_chassis.text import same_ident
from services.milestones.domain.calendar import (
    berlin_day,
    due_date_after,
    is_past_due,
    is_working_day,
    next_working_day,
)
from services.milestones.domain.errors import (
    FourEyesViolation,
    MilestoneRuleViolation,
    NotFound,
    StateConflict,
)
from services.milestones.domain.payouts import ACCEPTANCE

# Stored milestone states; "overdue" is shown, never stored: it follows from the clock.
OPEN, COMPLETED, CANCELLED = "open", "completed", "cancelled"
# Staff decided, with a reason, that the plan needs no more of it: it counts as done for the
# plan (completed_at/by and note record who waived it, when and why), but it releases no
# money of its own.
WAIVED = "waived"
DONE = (COMPLETED, WAIVED)
# The agent (or staff) reported it done, with evidence; it counts once another person, from
# the programme office, confirms it: only the confirmation releases money.
REPORTED = "reported"
OVERDUE = "overdue"
# Plan states. A plan is made on acceptance but runs only once budget has allocated the team's
# money (DOMAIN.md: "Its plan starts when the budget is allocated"); it ends completed, or
# closed when the team withdrew or budget refused or closed its money.
PENDING_BUDGET, ACTIVE, CLOSED = "pending_budget", "active", "closed"
# Where a plan's steps came from: always its call's plan, as call-opened carried it. (Plans
# made before a team waited for its call may say "default": the programme default then used.)
FROM_CALL = "call"
# Due dates are counted on from (the next midnight, alert delays): a typo such as 9999 is
# refused here rather than overflowing the calendar later.
LATEST_DUE_DATE = date(2999, 12, 31)
# An overdue milestone still open this many days after its due date goes to the programme
# office too (a call setting; the programme's default).
DEFAULT_ESCALATION_DAYS = 14


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
    reported_at: datetime | None = None
    reported_by: str | None = None


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
    status: str = PENDING_BUDGET
    # When budget allocated the team's money, and so the plan began to run.
    started_at: datetime | None = None
    completed_at: datetime | None = None
    # When the plan closed (its open milestones were cancelled then).
    cancelled_at: datetime | None = None
    # Its call's setting when the plan was made.
    escalation_days: int = DEFAULT_ESCALATION_DAYS

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
            completed=sum(status in DONE for status in shown),
            total=len(shown),
            overdue=shown.count(OVERDUE),
        )

    def with_milestone(self, changed: Milestone) -> Plan:
        return replace(
            self,
            milestones=tuple(changed if m.id == changed.id else m for m in self.milestones),
        )


def is_overdue(milestone_status: str, plan_status: str, due_date: date, now: datetime) -> bool:
    """Open, past its Berlin due day, in a plan running: one waiting for budget's allocation
    (its dates may yet move) or finished alerts no one."""
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
    escalation_days: int = DEFAULT_ESCALATION_DAYS,
) -> Plan:
    """The team's milestones from its call's plan, each due ``days_after_acceptance`` Berlin
    days after acceptance; the plan waits for budget's allocation (see :func:`start`)."""
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
        status=PENDING_BUDGET,
        escalation_days=escalation_days,
    )


@dataclass(frozen=True)
class Start:
    plan: Plan
    # (before, after) of each milestone whose due date moved with the late start.
    moved: tuple[tuple[Milestone, Milestone], ...]
    changed: bool
    # Berlin days between acceptance and allocation that the plan's dates moved by.
    waited_days: int = 0


def start(plan: Plan, *, allocated_at: datetime, from_waiting_list: bool) -> Start:
    """Budget allocated the team's money: a plan waiting for it runs from now on.

    A team that waited on the call's waiting list lost that time, and its plan starts on the
    allocation's Berlin day instead of the acceptance's: each open milestone moves by the days
    between the two, so it stays as many days after the start as the call's plan says.
    """
    if plan.status != PENDING_BUDGET:
        return Start(plan, (), changed=False)
    waited_days = (berlin_day(allocated_at) - berlin_day(plan.accepted_at)).days
    if not from_waiting_list or waited_days < 0:
        waited_days = 0
    moved = tuple(
        (m, replace(m, due_date=next_working_day(m.due_date + timedelta(days=waited_days))))
        for m in plan.milestones
        if m.status == OPEN and waited_days
    )
    after = {new.id: new for _, new in moved}
    started = replace(
        plan,
        status=ACTIVE,
        started_at=allocated_at,
        milestones=tuple(after.get(m.id, m) for m in plan.milestones),
    )
    return Start(started, moved, changed=True, waited_days=waited_days)


@dataclass(frozen=True)
class Completion:
    plan: Plan
    milestone: Milestone
    changed: bool
    plan_completed: bool


def report(
    plan: Plan,
    milestone_id: str,
    *,
    by: str,
    now: datetime,
    note: str | None,
    evidence_url: str | None,
) -> Completion:
    """The team's agent (or staff) reports a milestone done, in any order, with a note or an
    evidence link; reporting it again, or a completed one, changes nothing."""
    milestone = plan.milestone(milestone_id)
    if milestone.status in (REPORTED, COMPLETED):
        return Completion(plan, milestone, changed=False, plan_completed=False)
    if milestone.status == WAIVED:
        raise StateConflict(
            "milestone-waived", "The milestone was waived; the plan needs no completion of it."
        )
    _refuse_unless_running(plan, milestone)
    note = (note or "").strip() or None
    if note is None and not evidence_url:
        # Whoever confirms it needs something to check: the minutes, a link to the prototype.
        raise MilestoneRuleViolation(
            "evidence-required",
            "Report the milestone with evidence: a note, a link (evidence_url) or both.",
        )
    reported = replace(
        milestone,
        status=REPORTED,
        reported_at=now,
        reported_by=by,
        note=note,
        evidence_url=evidence_url,
    )
    return Completion(plan.with_milestone(reported), reported, changed=True, plan_completed=False)


def confirm(plan: Plan, milestone_id: str, *, by: str, now: datetime) -> Completion:
    """Four eyes: a staff member other than the reporter confirms the report, and only then is
    the milestone completed (and its money released). The plan is complete once every
    milestone is completed or waived, whichever came last."""
    milestone = plan.milestone(milestone_id)
    if milestone.status == COMPLETED:
        return Completion(plan, milestone, changed=False, plan_completed=False)
    if milestone.status != REPORTED:
        raise StateConflict(
            "milestone-not-reported",
            f"The milestone is {milestone.status}; only a reported one can be confirmed.",
        )
    _refuse_unless_running(plan, milestone)
    if milestone.reported_by is not None and same_ident(by, milestone.reported_by):
        raise FourEyesViolation(
            "four-eyes", "Four eyes: the completion must be confirmed by someone else."
        )
    done = replace(milestone, status=COMPLETED, completed_at=now, completed_by=by)
    return _done(plan, done, now)


@dataclass(frozen=True)
class Reopening:
    plan: Plan
    before: Milestone
    milestone: Milestone
    # The plan was complete and runs again.
    plan_reopened: bool


def reopen(
    plan: Plan,
    milestone_id: str,
    *,
    reason: str,
    now: datetime,
    paid_out: Collection[str] = (),
) -> Reopening:
    """Staff undo a report, a confirmation or a waiver made by mistake: the milestone is open
    again (and overdue if its day has passed); a completed plan runs again.

    Only until its money is paid: a completion or waiver whose tranche (or a later one that
    waited for it) has money paid out to the team, of the tranches in ``paid_out``, stays.
    """
    milestone = plan.milestone(milestone_id)
    if not reason.strip():
        raise MilestoneRuleViolation("reason-missing", "Give a reason for reopening.")
    if milestone.status not in (REPORTED, COMPLETED, WAIVED):
        raise StateConflict(
            f"milestone-{milestone.status}",
            f"The milestone is {milestone.status}; only a reported, completed or waived one "
            "can be reopened.",
        )
    if milestone.status in DONE:
        _refuse_once_paid_out(plan, milestone, paid_out)
    if plan.status not in (ACTIVE, COMPLETED):
        _refuse_unless_running(plan, milestone)
    opened = replace(
        milestone,
        status=OPEN,
        completed_at=None,
        completed_by=None,
        reported_at=None,
        reported_by=None,
        note=None,
        evidence_url=None,
    )
    updated = plan.with_milestone(opened)
    was_complete = plan.status == COMPLETED
    if was_complete:
        updated = replace(updated, status=ACTIVE, completed_at=None)
    return Reopening(updated, milestone, opened, plan_reopened=was_complete)


def _refuse_once_paid_out(plan: Plan, milestone: Milestone, paid_out: Collection[str]) -> None:
    """A milestone counts for its own tranche and every later one (money is released in plan
    order); a tranche the plan has no milestone for is taken to wait for it too."""
    keys = [m.key for m in plan.milestones]
    waiting = [
        trigger
        for trigger in paid_out
        if trigger != ACCEPTANCE
        and (trigger not in keys or keys.index(trigger) >= keys.index(milestone.key))
    ]
    if waiting:
        raise StateConflict(
            "tranche-paid-out",
            f"Money of the {', '.join(sorted(waiting))} tranche, which the milestone "
            f"{milestone.key!r} released, has been paid out to the team; the completion can "
            "no longer be reopened.",
        )


def waive(plan: Plan, milestone_id: str, *, by: str, reason: str, now: datetime) -> Completion:
    """Staff release the plan from an open milestone, with a reason; waiving it again changes
    nothing, and a completed one stays completed."""
    milestone = plan.milestone(milestone_id)
    if milestone.status == WAIVED:
        return Completion(plan, milestone, changed=False, plan_completed=False)
    if milestone.status == COMPLETED:
        raise StateConflict("milestone-completed", "A completed milestone cannot be waived.")
    if not reason.strip():
        raise MilestoneRuleViolation("reason-missing", "Give a reason for waiving the milestone.")
    _refuse_unless_running(plan, milestone)
    waived = replace(
        milestone, status=WAIVED, completed_at=now, completed_by=by, note=reason.strip()
    )
    return _done(plan, waived, now)


def _done(plan: Plan, milestone: Milestone, now: datetime) -> Completion:
    updated = plan.with_milestone(milestone)
    finishes = plan.status == ACTIVE and all(m.status in DONE for m in updated.milestones)
    if finishes:
        updated = replace(updated, status=COMPLETED, completed_at=now)
    return Completion(updated, milestone, changed=True, plan_completed=finishes)


def _refuse_unless_running(plan: Plan, milestone: Milestone) -> None:
    if milestone.status == CANCELLED or plan.status == CLOSED:
        raise StateConflict(
            "plan-cancelled",
            "The plan is closed (the team withdrew, or budget refused or closed its money); "
            "its open milestones are cancelled.",
        )
    if plan.status == PENDING_BUDGET:
        # Its due dates may still move with a late allocation: nothing is done against them.
        raise StateConflict(
            "plan-not-active",
            "The plan starts when budget has allocated the team's money; until then its "
            "milestones can be neither completed nor rescheduled.",
        )


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
    if milestone.status in DONE:
        raise StateConflict(
            f"milestone-{milestone.status}", f"A {milestone.status} milestone keeps its date."
        )
    _refuse_unless_running(plan, milestone)
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
    if not is_working_day(due_date):
        raise MilestoneRuleViolation(
            "not-a-working-day",
            f"{due_date.isoformat()} is a weekend day or a public holiday in Saxony; the next "
            f"working day is {next_working_day(due_date).isoformat()}.",
        )
    _keep_plan_order(plan, milestone, due_date)
    moved = replace(milestone, due_date=due_date)
    return Rescheduling(plan.with_milestone(moved), milestone, moved)


# The milestones whose due dates still bind their neighbours': open ones and reported ones (a
# report may yet be reopened, and then its date counts again). A completed or waived one is
# history: its date no longer holds an open milestone back, wherever it stands in the plan.
_DATES_THAT_BIND = (OPEN, REPORTED)


def _keep_plan_order(plan: Plan, milestone: Milestone, due_date: date) -> None:
    """A milestone stays between its neighbours in the plan: moving it past a later one (the
    final one included) or before an earlier one, open or reported, needs those moved first."""
    index = plan.milestones.index(milestone)
    later = [m for m in plan.milestones[index + 1 :] if m.status in _DATES_THAT_BIND]
    earlier = [m for m in plan.milestones[:index] if m.status in _DATES_THAT_BIND]
    if later and due_date > later[0].due_date:
        raise MilestoneRuleViolation(
            "out-of-plan-order",
            f"{due_date.isoformat()} is after {later[0].key!r} "
            f"({later[0].due_date.isoformat()}), which comes later in the plan; move that one "
            "first.",
        )
    if earlier and due_date < earlier[-1].due_date:
        raise MilestoneRuleViolation(
            "out-of-plan-order",
            f"{due_date.isoformat()} is before {earlier[-1].key!r} "
            f"({earlier[-1].due_date.isoformat()}), which comes earlier in the plan; move that "
            "one first.",
        )


@dataclass(frozen=True)
class Cancellation:
    plan: Plan
    cancelled: tuple[Milestone, ...]
    changed: bool


def cancel(plan: Plan, *, now: datetime) -> Cancellation:
    """The team withdrew, or budget refused or closed its money: the plan closes, waiting or
    running, and its open milestones are cancelled; a completed or closed plan stays as it is."""
    if plan.status not in (PENDING_BUDGET, ACTIVE):
        return Cancellation(plan, (), changed=False)
    cancelled = tuple(replace(m, status=CANCELLED) for m in plan.milestones if m.status == OPEN)
    by_id = {m.id: m for m in cancelled}
    updated = replace(
        plan,
        status=CLOSED,
        cancelled_at=now,
        milestones=tuple(by_id.get(m.id, m) for m in plan.milestones),
    )
    return Cancellation(updated, cancelled, changed=True)
