"""A team's plan: due dates from the template, waiting for budget, completion once, the final
milestone, reschedules, closing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.milestones.domain.errors import (
    FourEyesViolation,
    MilestoneRuleViolation,
    NotFound,
    StateConflict,
)
from services.milestones.domain.payouts import TeamPayouts
from services.milestones.domain.plans import (
    ACTIVE,
    CANCELLED,
    CLOSED,
    COMPLETED,
    OPEN,
    OVERDUE,
    PENDING_BUDGET,
    REPORTED,
    WAIVED,
    PhaseStep,
    Plan,
    Progress,
    cancel,
    confirm,
    reopen,
    report,
    reschedule,
    start,
    waive,
)
from tests.unit.milestones.builders import ACCEPTED_AT, a_plan
from tests.unit.milestones.builders import report_and_confirm as complete

LATER = ACCEPTED_AT + timedelta(days=3)


def by_key(plan: Plan, key: str) -> str:
    return next(m.id for m in plan.milestones if m.key == key)


def finished_plan() -> Plan:
    """Every milestone done, in any order: the kickoff waived, the rest completed."""
    plan = a_plan()
    plan = waive(plan, by_key(plan, "kickoff"), by="staff", reason="entfällt", now=LATER).plan
    for key in ("final", "workshop", "test", "prototype"):
        plan = complete(
            plan, by_key(plan, key), by="staff", now=LATER, note="Protokoll", evidence_url=None
        ).plan
    return plan


class TestCreatePlan:
    def test_each_milestone_is_due_on_berlin_days_after_acceptance(self) -> None:
        plan = a_plan()
        assert [(m.key, m.due_date, m.position) for m in plan.milestones] == [
            ("kickoff", date(2024, 8, 15), 1),
            ("workshop", date(2024, 9, 12), 2),
            ("prototype", date(2024, 11, 29), 3),
            ("test", date(2024, 12, 30), 4),  # 150 days is Sunday 29 December
            ("final", date(2025, 1, 28), 5),
        ]
        assert plan.status == ACTIVE
        assert {m.status for m in plan.milestones} == {OPEN}

    def test_an_acceptance_after_berlin_midnight_counts_from_the_next_day(self) -> None:
        plan = a_plan(accepted_at=datetime(2024, 8, 1, 22, 5, tzinfo=UTC))
        assert plan.milestones[0].due_date == date(2024, 8, 16)

    def test_the_calls_plan_is_followed_step_by_step(self) -> None:
        steps = [PhaseStep("kickoff", "Auftakt", 7), PhaseStep("final", "Abschluss", 90)]
        plan = a_plan(steps=steps)
        assert [(m.key, m.title, m.due_date) for m in plan.milestones] == [
            ("kickoff", "Auftakt", date(2024, 8, 8)),
            ("final", "Abschluss", date(2024, 10, 30)),
        ]


class TestStart:
    def test_a_new_plan_waits_for_budget_and_is_never_overdue_meanwhile(self) -> None:
        plan = a_plan(funded=False)
        assert (plan.status, plan.started_at) == (PENDING_BUDGET, None)
        years_later = ACCEPTED_AT + timedelta(days=1000)
        assert {plan.shown_status(m, years_later) for m in plan.milestones} == {OPEN}
        assert plan.progress(years_later).overdue == 0

    def test_an_allocation_on_time_starts_the_plan_on_its_dates(self) -> None:
        plan = a_plan(funded=False)
        started = start(plan, allocated_at=LATER, from_waiting_list=False)
        assert started.changed
        assert (started.plan.status, started.plan.started_at) == (ACTIVE, LATER)
        assert started.moved == ()
        assert started.plan.milestones == plan.milestones

    def test_an_allocation_from_the_waiting_list_moves_the_dates_by_the_days_waited(
        self,
    ) -> None:
        plan = a_plan(funded=False)  # accepted on 1 August 2024 (Berlin)
        # 23:30 UTC on 9 September is 10 September in Berlin: 40 days after acceptance.
        started = start(
            plan, allocated_at=datetime(2024, 9, 9, 23, 30, tzinfo=UTC), from_waiting_list=True
        )
        assert started.waited_days == 40
        assert [(m.key, m.due_date) for m in started.plan.milestones] == [
            ("kickoff", date(2024, 9, 24)),
            ("workshop", date(2024, 10, 22)),
            ("prototype", date(2025, 1, 8)),
            ("test", date(2025, 2, 10)),  # Saturday 8 February moves to Monday
            ("final", date(2025, 3, 10)),  # Sunday 9 March moves to Monday
        ]
        before, after = started.moved[0]
        assert (before.due_date, after.due_date) == (date(2024, 8, 15), date(2024, 9, 24))
        assert [a for _, a in started.moved] == list(started.plan.milestones)

    def test_a_waiting_list_allocation_on_the_day_of_acceptance_moves_nothing(self) -> None:
        plan = a_plan(funded=False)
        started = start(plan, allocated_at=ACCEPTED_AT + timedelta(hours=5), from_waiting_list=True)
        assert (started.plan.status, started.moved, started.waited_days) == (ACTIVE, (), 0)

    def test_a_running_completed_or_closed_plan_does_not_start_again(self) -> None:
        running = a_plan()
        closed = cancel(a_plan(funded=False), now=LATER).plan
        for plan in (running, closed):
            again = start(plan, allocated_at=LATER, from_waiting_list=True)
            assert not again.changed
            assert again.plan == plan

    def test_a_waiting_plans_milestones_can_be_neither_completed_nor_moved(self) -> None:
        plan = a_plan(funded=False)
        kickoff = by_key(plan, "kickoff")
        with pytest.raises(StateConflict) as completing:
            complete(plan, kickoff, by="staff", now=LATER, note="Protokoll", evidence_url=None)
        with pytest.raises(StateConflict) as moving:
            reschedule(plan, kickoff, due_date=date(2024, 9, 1), reason="x", now=LATER)
        assert completing.value.code == moving.value.code == "plan-not-active"


class TestReportConfirmReopen:
    def test_a_report_waits_for_another_persons_confirmation(self) -> None:
        plan = a_plan()
        prototype = by_key(plan, "prototype")
        reported = report(
            plan, prototype, by="agent-anna", now=LATER, note="läuft", evidence_url=None
        )
        assert reported.milestone.status == REPORTED
        assert reported.milestone.completed_at is None
        # A reported milestone is not overdue: the team did its part.
        much_later = ACCEPTED_AT + timedelta(days=400)
        assert reported.plan.shown_status(reported.milestone, much_later) == REPORTED
        with pytest.raises(FourEyesViolation):
            confirm(reported.plan, prototype, by="Agent-Anna", now=LATER)
        done = confirm(reported.plan, prototype, by="sabine", now=LATER)
        assert (done.milestone.status, done.milestone.completed_by) == (COMPLETED, "sabine")
        assert not confirm(done.plan, prototype, by="sabine", now=LATER).changed

    def test_only_a_reported_milestone_is_confirmed(self) -> None:
        plan = a_plan()
        with pytest.raises(StateConflict) as caught:
            confirm(plan, by_key(plan, "kickoff"), by="sabine", now=LATER)
        assert caught.value.code == "milestone-not-reported"

    def test_reopening_a_completion_made_by_mistake_runs_the_plan_again(self) -> None:
        plan = a_plan()
        for m in plan.milestones:
            plan = complete(plan, m.id, by="agent-anna", now=LATER).plan
        assert plan.status == COMPLETED
        with pytest.raises(MilestoneRuleViolation):
            reopen(plan, by_key(plan, "final"), reason=" ", now=LATER)
        opened = reopen(plan, by_key(plan, "final"), reason="falsches Team", now=LATER)
        assert opened.plan_reopened
        assert (opened.plan.status, opened.milestone.status) == (ACTIVE, OPEN)
        assert opened.milestone.completed_by is None
        with pytest.raises(StateConflict):
            reopen(opened.plan, by_key(plan, "final"), reason="noch einmal", now=LATER)


class TestReopenBeforePayout:
    def completed(self) -> Plan:
        plan = a_plan()
        for key in ("kickoff", "workshop", "prototype"):
            plan = complete(
                plan, by_key(plan, key), by="staff", now=LATER, note="Protokoll", evidence_url=None
            ).plan
        return waive(plan, by_key(plan, "test"), by="staff", reason="entfällt", now=LATER).plan

    def test_a_milestone_whose_tranche_is_paid_out_stays(self) -> None:
        plan = self.completed()
        with pytest.raises(StateConflict) as caught:
            reopen(plan, by_key(plan, "prototype"), reason="x", now=LATER, paid_out={"prototype"})
        assert caught.value.code == "tranche-paid-out"

    def test_so_do_the_earlier_ones_its_tranche_waited_for(self) -> None:
        plan = self.completed()
        with pytest.raises(StateConflict):
            reopen(plan, by_key(plan, "kickoff"), reason="x", now=LATER, paid_out={"prototype"})

    def test_later_ones_and_a_paid_acceptance_tranche_do_not_hold_it(self) -> None:
        plan = self.completed()
        paid = {"acceptance", "prototype"}
        waived = reopen(plan, by_key(plan, "test"), reason="x", now=LATER, paid_out=paid)
        assert waived.milestone.status == OPEN
        unpaid = reopen(plan, by_key(plan, "prototype"), reason="x", now=LATER, paid_out=())
        assert unpaid.milestone.status == OPEN


class TestTranchePayouts:
    def test_payments_count_against_the_tranches_in_release_order(self) -> None:
        payouts = TeamPayouts("team-1", "call-1").release("acceptance", 16_000_00)
        payouts = payouts.release("prototype", 16_000_00).release("final", 0)
        assert payouts.paid_out() == frozenset()
        assert payouts.paid(16_000_00).paid_out() == {"acceptance"}
        assert payouts.paid(16_000_01).paid_out() == {"acceptance", "prototype"}
        # A tranche of nothing has nothing paid out, however much was paid.
        assert "final" not in payouts.paid(40_000_00).paid_out()

    def test_a_withdrawn_tranche_leaves_and_a_release_heard_twice_counts_once(self) -> None:
        payouts = TeamPayouts("team-1", "call-1").release("acceptance", 100).release("test", 50)
        assert payouts.release("test", 50) == payouts
        again = payouts.withdraw("test").release("final", 30).release("test", 50)
        assert again.released == (("acceptance", 100), ("final", 30), ("test", 50))
        assert again.paid(120).paid_out() == {"acceptance", "final"}


class TestComplete:
    def test_completing_records_who_when_note_and_evidence(self) -> None:
        plan = a_plan()
        done = complete(
            plan,
            by_key(plan, "kickoff"),
            by="agent-anna",
            now=LATER,
            note="  Kick-off in Annaberg  ",
            evidence_url="https://example.org/protokoll.pdf",
        )
        assert done.changed
        assert not done.plan_completed
        m = done.milestone
        assert (m.status, m.completed_at, m.completed_by) == (COMPLETED, LATER, "sven-staff")
        assert (m.reported_at, m.reported_by) == (LATER, "agent-anna")
        assert (m.note, m.evidence_url) == (
            "Kick-off in Annaberg",
            "https://example.org/protokoll.pdf",
        )
        assert done.plan.milestone(m.id) == m
        assert done.plan.progress(LATER).completed == 1

    def test_completing_twice_changes_nothing(self) -> None:
        plan = a_plan()
        first = complete(
            plan, by_key(plan, "kickoff"), by="staff", now=LATER, note="eins", evidence_url=None
        )
        assert first.milestone.completed_by == "sven-staff"
        again = complete(
            first.plan,
            by_key(plan, "kickoff"),
            by="agent-anna",
            now=LATER + timedelta(days=1),
            note="zwei",
            evidence_url=None,
        )
        assert not again.changed
        assert again.plan == first.plan
        assert (again.milestone.completed_by, again.milestone.note) == ("sven-staff", "eins")

    def test_completing_the_final_milestone_completes_the_plan(self) -> None:
        plan = a_plan()
        for key in ("kickoff", "workshop", "prototype", "test"):
            plan = complete(
                plan, by_key(plan, key), by="staff", now=LATER, note="Protokoll", evidence_url=None
            ).plan
            assert plan.status == ACTIVE
        done = complete(
            plan, by_key(plan, "final"), by="staff", now=LATER, note="Protokoll", evidence_url=None
        )
        assert done.plan_completed
        assert (done.plan.status, done.plan.completed_at) == (COMPLETED, LATER)
        assert done.plan.progress(LATER) == Progress(completed=5, total=5, overdue=0)

    def test_completing_final_first_leaves_the_plan_running_and_the_rest_overdue(self) -> None:
        plan = a_plan()
        done = complete(
            plan, by_key(plan, "final"), by="staff", now=LATER, note="Protokoll", evidence_url=None
        )
        years_later = ACCEPTED_AT + timedelta(days=1000)
        kickoff = done.plan.milestone(by_key(plan, "kickoff"))
        assert not done.plan_completed
        assert done.plan.status == ACTIVE
        assert done.plan.shown_status(kickoff, years_later) == OVERDUE
        assert done.plan.progress(years_later) == Progress(completed=1, total=5, overdue=4)

    def test_the_plan_completes_when_every_milestone_is_completed_or_waived(self) -> None:
        plan = finished_plan()
        assert plan.status == COMPLETED
        assert [m.status for m in plan.milestones] == [
            WAIVED, COMPLETED, COMPLETED, COMPLETED, COMPLETED
        ]  # fmt: skip
        assert plan.progress(ACCEPTED_AT + timedelta(days=1000)).completed == 5

    def test_waiving_needs_a_reason_and_never_undoes_a_completion(self) -> None:
        plan = a_plan()
        with pytest.raises(MilestoneRuleViolation) as no_reason:
            waive(plan, by_key(plan, "kickoff"), by="staff", reason=" ", now=LATER)
        assert no_reason.value.code == "reason-missing"
        done = complete(
            plan,
            by_key(plan, "kickoff"),
            by="staff",
            now=LATER,
            note="Protokoll",
            evidence_url=None,
        ).plan
        with pytest.raises(StateConflict) as completed:
            waive(done, by_key(plan, "kickoff"), by="staff", reason="x", now=LATER)
        assert completed.value.code == "milestone-completed"
        waived = waive(plan, by_key(plan, "workshop"), by="staff", reason="entfällt", now=LATER)
        assert (waived.milestone.status, waived.milestone.note) == (WAIVED, "entfällt")
        assert not waive(
            waived.plan, by_key(plan, "workshop"), by="s", reason="x", now=LATER
        ).changed

    def test_a_cancelled_plan_cannot_be_completed(self) -> None:
        plan = cancel(a_plan(), now=LATER).plan
        with pytest.raises(StateConflict) as caught:
            complete(
                plan,
                by_key(plan, "kickoff"),
                by="staff",
                now=LATER,
                note="Protokoll",
                evidence_url=None,
            )
        assert caught.value.code == "plan-cancelled"

    def test_an_unknown_milestone_is_not_found(self) -> None:
        with pytest.raises(NotFound):
            complete(a_plan(), "nope", by="staff", now=LATER, note="Protokoll", evidence_url=None)


class TestShownStatus:
    def test_an_open_milestone_shows_overdue_from_the_berlin_midnight_after_its_due_day(
        self,
    ) -> None:
        plan = a_plan()
        kickoff = plan.milestones[0]  # due 15 August 2024
        assert plan.shown_status(kickoff, datetime(2024, 8, 15, 21, 59, tzinfo=UTC)) == OPEN
        assert plan.shown_status(kickoff, datetime(2024, 8, 15, 22, 0, tzinfo=UTC)) == OVERDUE
        assert plan.progress(datetime(2024, 9, 13, 0, 0, tzinfo=UTC)).overdue == 2

    def test_completed_and_cancelled_milestones_are_never_overdue(self) -> None:
        plan = a_plan()
        late = ACCEPTED_AT + timedelta(days=400)
        done = complete(
            plan,
            by_key(plan, "kickoff"),
            by="staff",
            now=LATER,
            note="Protokoll",
            evidence_url=None,
        ).plan
        assert done.shown_status(done.milestones[0], late) == COMPLETED
        cancelled = cancel(done, now=LATER).plan
        assert [cancelled.shown_status(m, late) for m in cancelled.milestones] == [
            COMPLETED,
            *[CANCELLED] * 4,
        ]


class TestReschedule:
    def test_an_open_milestone_moves_to_a_new_day(self) -> None:
        plan = a_plan()
        moved = reschedule(
            plan, by_key(plan, "kickoff"), due_date=date(2024, 8, 30), reason="Urlaub", now=LATER
        )
        assert moved.changed
        assert (moved.before.due_date, moved.after.due_date) == (
            date(2024, 8, 15),
            date(2024, 8, 30),
        )
        assert moved.plan.milestone(moved.after.id).due_date == date(2024, 8, 30)

    def test_the_same_day_changes_nothing(self) -> None:
        plan = a_plan()
        moved = reschedule(
            plan, by_key(plan, "kickoff"), due_date=date(2024, 8, 15), reason="x", now=LATER
        )
        assert not moved.changed
        assert moved.plan == plan

    def test_today_in_berlin_is_allowed_but_yesterday_is_not(self) -> None:
        plan = a_plan()
        now = datetime(2024, 8, 12, 22, 30, tzinfo=UTC)  # already Tuesday 13 August in Berlin
        assert reschedule(
            plan, plan.milestones[0].id, due_date=date(2024, 8, 13), reason="x", now=now
        ).changed
        with pytest.raises(MilestoneRuleViolation) as caught:
            reschedule(plan, plan.milestones[0].id, due_date=date(2024, 8, 12), reason="x", now=now)
        assert caught.value.code == "due-date-in-past"

    @pytest.mark.parametrize(
        ("day", "next_working_day"),
        [
            (date(2024, 8, 17), "2024-08-19"),  # Saturday
            (date(2024, 10, 31), "2024-11-01"),  # Reformationstag, a holiday in Saxony
            (date(2024, 11, 20), "2024-11-21"),  # Buß- und Bettag, only in Saxony
        ],
    )
    def test_a_day_nobody_works_in_saxony_is_refused_with_the_next_working_day(
        self, day: date, next_working_day: str
    ) -> None:
        plan = a_plan()
        with pytest.raises(MilestoneRuleViolation) as caught:
            reschedule(plan, by_key(plan, "prototype"), due_date=day, reason="x", now=LATER)
        assert caught.value.code == "not-a-working-day"
        assert next_working_day in str(caught.value)

    def test_a_milestone_is_not_moved_past_a_later_one_or_before_an_earlier_one(self) -> None:
        plan = a_plan()  # kickoff 15 Aug, workshop 12 Sep, prototype 29 Nov
        with pytest.raises(MilestoneRuleViolation) as later:
            reschedule(
                plan, by_key(plan, "workshop"), due_date=date(2024, 12, 2), reason="x", now=LATER
            )
        assert later.value.code == "out-of-plan-order"
        assert "prototype" in str(later.value)
        with pytest.raises(MilestoneRuleViolation) as earlier:
            reschedule(
                plan, by_key(plan, "workshop"), due_date=date(2024, 8, 14), reason="x", now=LATER
            )
        assert "kickoff" in str(earlier.value)

    def test_a_reported_later_milestone_holds_its_place_a_completed_one_does_not(self) -> None:
        plan = a_plan()  # kickoff 15 Aug, workshop 12 Sep, prototype 29 Nov
        prototype = by_key(plan, "prototype")
        reported = report(
            plan, prototype, by="anna", now=LATER, note="Demo", evidence_url=None
        ).plan
        with pytest.raises(MilestoneRuleViolation) as caught:
            reschedule(
                reported,
                by_key(plan, "workshop"),
                due_date=date(2024, 12, 2),
                reason="x",
                now=LATER,
            )
        assert caught.value.code == "out-of-plan-order"
        assert "prototype" in str(caught.value)
        confirmed = confirm(reported, prototype, by="sabine", now=LATER).plan
        moved = reschedule(
            confirmed, by_key(plan, "workshop"), due_date=date(2024, 12, 2), reason="x", now=LATER
        )
        assert moved.after.due_date == date(2024, 12, 2)

    def test_a_reason_is_required(self) -> None:
        plan = a_plan()
        with pytest.raises(MilestoneRuleViolation) as caught:
            reschedule(
                plan, plan.milestones[0].id, due_date=date(2024, 9, 1), reason="  ", now=LATER
            )
        assert caught.value.code == "invalid-reschedule"

    def test_completed_or_cancelled_milestones_keep_their_dates(self) -> None:
        plan = a_plan()
        kickoff = by_key(plan, "kickoff")
        done = complete(
            plan, kickoff, by="staff", now=LATER, note="Protokoll", evidence_url=None
        ).plan
        with pytest.raises(StateConflict) as caught:
            reschedule(done, kickoff, due_date=date(2024, 9, 1), reason="x", now=LATER)
        assert caught.value.code == "milestone-completed"
        cancelled = cancel(plan, now=LATER).plan
        with pytest.raises(StateConflict) as caught:
            reschedule(cancelled, kickoff, due_date=date(2024, 9, 1), reason="x", now=LATER)
        assert caught.value.code == "plan-cancelled"


class TestCancel:
    def test_withdrawal_cancels_the_open_milestones_and_keeps_the_completed(self) -> None:
        plan = a_plan()
        plan = complete(
            plan,
            by_key(plan, "kickoff"),
            by="staff",
            now=LATER,
            note="Protokoll",
            evidence_url=None,
        ).plan
        cancellation = cancel(plan, now=LATER)
        assert cancellation.changed
        assert len(cancellation.cancelled) == 4
        assert (cancellation.plan.status, cancellation.plan.cancelled_at) == (CLOSED, LATER)
        assert [m.status for m in cancellation.plan.milestones] == [COMPLETED, *[CANCELLED] * 4]

    def test_a_plan_waiting_for_budget_closes_with_all_its_milestones(self) -> None:
        cancellation = cancel(a_plan(funded=False), now=LATER)
        assert cancellation.changed
        assert cancellation.plan.status == CLOSED
        assert {m.status for m in cancellation.plan.milestones} == {CANCELLED}

    def test_cancelling_twice_or_a_completed_plan_changes_nothing(self) -> None:
        cancelled = cancel(a_plan(), now=LATER).plan
        assert not cancel(cancelled, now=LATER).changed
        finished = finished_plan()
        again = cancel(finished, now=LATER)
        assert not again.changed
        assert again.plan == finished
