"""The overdue scan: once per milestone and due date, from Berlin midnight, across restarts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from cimis_contracts.milestones import MilestoneEscalatedV1, MilestoneOverdueV1
from services.milestones.app import overdue as overdue_module
from services.milestones.app.commands import (
    Actor,
    CompleteMilestone,
    ReopenMilestone,
    RescheduleMilestone,
    WaiveMilestone,
)
from services.milestones.app.handlers import (
    complete_milestone,
    reopen_milestone,
    reschedule_milestone,
    waive_milestone,
)
from services.milestones.app.intake_events import on_team_withdrawn
from services.milestones.domain.plans import Plan
from tests.unit.milestones.builders import team_accepted, team_withdrawn
from tests.unit.milestones.conftest import Harness

OVERDUE = MilestoneOverdueV1.TYPE
ESCALATED = MilestoneEscalatedV1.TYPE
STAFF = Actor("staff", is_agent=False)
SABINE = Actor("sabine", is_agent=False)
# The default plan's kick-off of a team accepted on 1 August 2024 is due on 15 August; the
# day ends at 22:00 UTC (midnight CEST).
KICKOFF_DUE = date(2024, 8, 15)
LAST_MOMENT_OF_DUE_DAY = datetime(2024, 8, 15, 21, 59, 59, 999999, tzinfo=UTC)
BERLIN_MIDNIGHT_AFTER = datetime(2024, 8, 15, 22, 0, tzinfo=UTC)


async def accepted(harness: Harness, team_id: str = "team-1", **kw: Any) -> Plan:
    return await harness.accept(team_accepted(team_id, **kw))


def keys(events: list[Any]) -> list[tuple[str, str]]:
    """The overdue alerts among a scan's events, by milestone key and due date."""
    return [(e.data["key"], e.data["due_date"]) for e in events if e.type == OVERDUE]


def escalated(events: list[Any]) -> list[tuple[str, int]]:
    return [(e.data["key"], e.data["overdue_days"]) for e in events if e.type == ESCALATED]


class TestWhenAMilestoneBecomesOverdue:
    async def test_nothing_is_overdue_while_the_due_day_lasts(self, harness: Harness) -> None:
        await accepted(harness)
        harness.clock.set(LAST_MOMENT_OF_DUE_DAY)
        assert await harness.scan().run_once() == []
        assert await harness.scan().count_overdue() == 0

    async def test_at_berlin_midnight_after_the_due_day_one_alert_is_queued(
        self, harness: Harness
    ) -> None:
        plan = await accepted(harness)
        harness.clock.set(BERLIN_MIDNIGHT_AFTER)

        [alert] = await harness.scan().run_once()

        kickoff = plan.milestones[0]
        [queued] = await harness.events(OVERDUE)
        assert queued["id"] == alert.id
        assert queued["subject"] == plan.team_id
        # A scheduled alert starts its own causal chain.
        assert queued["correlationid"] == alert.id
        assert queued["data"] == {
            "team_id": plan.team_id,
            "call_id": "call-1",
            "milestone_id": kickoff.id,
            "key": "kickoff",
            "title": "Kick-off",
            "due_date": "2024-08-15",
            "detected_at": "2024-08-15T22:00:00Z",
        }
        [audit] = await harness.audit("milestone.overdue_detected")
        assert audit["actor"] == "scheduler:overdue-scan"
        assert audit["after"] == {"due_date": "2024-08-15", "event_id": alert.id}
        assert await harness.scan().count_overdue() == 1

    async def test_a_second_scan_finds_nothing_new(self, harness: Harness) -> None:
        await accepted(harness)
        harness.clock.set(BERLIN_MIDNIGHT_AFTER)
        assert len(await harness.scan().run_once()) == 1

        assert await harness.scan().run_once() == []
        harness.clock.set(datetime(2024, 9, 1, tzinfo=UTC))
        later = await harness.scan().run_once()
        assert keys(later) == []
        assert escalated(later) == [("kickoff", 17)]  # the office hears of it now
        assert await harness.scan().run_once() == []
        assert len(await harness.events(OVERDUE)) == 1

    async def test_a_new_scanner_after_a_restart_repeats_nothing(self, harness: Harness) -> None:
        await accepted(harness)
        harness.clock.set(BERLIN_MIDNIGHT_AFTER)
        await harness.scan().run_once()

        assert await harness.scan().run_once() == []
        assert len(await harness.events(OVERDUE)) == 1

    async def test_a_scan_that_fails_before_commit_leaves_the_alert_to_the_next(
        self, harness: Harness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        plan = await accepted(harness)
        harness.clock.set(BERLIN_MIDNIGHT_AFTER)

        def crash_before_commit(*_args: Any) -> None:
            raise OSError("disk full")

        with monkeypatch.context() as patched:
            patched.setattr(overdue_module, "crash_point", crash_before_commit)
            with pytest.raises(OSError, match="disk full"):
                await harness.scan().run_once()
        assert await harness.events(OVERDUE) == []
        assert await harness.unit.overdue.alerted_due_dates(plan.milestones[0].id) == []

        assert keys(await harness.scan().run_once()) == [("kickoff", "2024-08-15")]

    async def test_after_downtime_one_scan_catches_up_in_due_order(self, harness: Harness) -> None:
        await accepted(harness)
        harness.clock.set(datetime(2025, 6, 1, tzinfo=UTC))

        raised = await harness.scan(batch_size=2).run_once()

        assert keys(raised) == [
            ("kickoff", "2024-08-15"),
            ("workshop", "2024-09-12"),
            ("prototype", "2024-11-29"),
            ("test", "2024-12-30"),  # 150 days is a Sunday
            ("final", "2025-01-28"),
        ]
        assert await harness.scan(batch_size=2).run_once() == []


class TestWhatIsNeverOverdue:
    async def test_a_completed_milestone(self, harness: Harness) -> None:
        plan = await accepted(harness)
        cmd = CompleteMilestone(plan.milestones[0].id, STAFF, note="erledigt")
        await harness.run(lambda uow: complete_milestone(uow, cmd))
        harness.clock.set(BERLIN_MIDNIGHT_AFTER)
        assert await harness.scan().run_once() == []

    async def test_the_milestones_of_a_withdrawn_team(self, harness: Harness) -> None:
        await accepted(harness)
        await harness.apply(on_team_withdrawn, team_withdrawn())
        harness.clock.set(datetime(2025, 6, 1, tzinfo=UTC))
        assert await harness.scan().run_once() == []
        assert await harness.scan().count_overdue() == 0

    async def test_a_waived_milestone(self, harness: Harness) -> None:
        plan = await accepted(harness)
        cmd = WaiveMilestone(plan.milestones[0].id, "entfällt", STAFF)
        await harness.run(lambda uow: waive_milestone(uow, cmd))
        harness.clock.set(BERLIN_MIDNIGHT_AFTER)
        assert await harness.scan().run_once() == []

    async def test_but_the_open_ones_when_final_was_completed_first(self, harness: Harness) -> None:
        plan = await accepted(harness)
        cmd = CompleteMilestone(plan.milestones[-1].id, STAFF, note="erledigt")
        await harness.run(lambda uow: complete_milestone(uow, cmd))
        harness.clock.set(datetime(2025, 6, 1, tzinfo=UTC))
        raised = await harness.scan().run_once()
        assert [key for key, _ in keys(raised)] == ["kickoff", "workshop", "prototype", "test"]


class TestEscalation:
    async def test_still_open_after_the_calls_period_the_office_hears_once(
        self, harness: Harness
    ) -> None:
        await harness.accept(team_accepted(), escalation_days=3)  # kick-off due 15 August
        harness.clock.set(datetime(2024, 8, 18, 21, 59, tzinfo=UTC))  # still 18 August
        assert escalated(await harness.scan().run_once()) == []
        harness.clock.set(datetime(2024, 8, 18, 22, 0, tzinfo=UTC))  # 19 August in Berlin
        assert escalated(await harness.scan().run_once()) == [("kickoff", 4)]
        assert await harness.scan().run_once() == []
        [event] = await harness.events(ESCALATED)
        assert event["data"]["due_date"] == "2024-08-15"

    async def test_a_milestone_reported_or_completed_in_time_is_not_escalated(
        self, harness: Harness
    ) -> None:
        plan = await accepted(harness)
        report = CompleteMilestone(plan.milestones[0].id, STAFF, note="erledigt")
        await harness.run(lambda uow: complete_milestone(uow, report))
        harness.clock.set(datetime(2024, 12, 1, tzinfo=UTC))
        found = await harness.scan().run_once()
        # The prototype, due on 29 November, is overdue but not yet for 14 days.
        assert [key for key, _ in escalated(found)] == ["workshop"]


class TestReopening:
    async def test_a_milestone_reopened_past_its_day_alerts_the_agent_and_the_office_again(
        self, harness: Harness
    ) -> None:
        plan = await harness.accept(team_accepted(), escalation_days=3)  # kick-off due 15 Aug
        kickoff = plan.milestones[0].id
        harness.clock.set(datetime(2024, 8, 19, 22, 0, tzinfo=UTC))  # 20 August in Berlin
        first = await harness.scan().run_once()
        assert (keys(first), escalated(first)) == ([("kickoff", "2024-08-15")], [("kickoff", 5)])

        report = CompleteMilestone(kickoff, STAFF, note="Protokoll")
        await harness.run(lambda uow: complete_milestone(uow, report))
        assert await harness.scan().run_once() == []
        reopen = ReopenMilestone(kickoff, "Protokoll gehört zu einem anderen Team", SABINE)
        await harness.run(lambda uow: reopen_milestone(uow, reopen))

        again = await harness.scan().run_once()
        assert (keys(again), escalated(again)) == ([("kickoff", "2024-08-15")], [("kickoff", 5)])
        assert await harness.scan().run_once() == []

    async def test_a_milestone_reopened_before_its_day_alerts_once_when_it_passes(
        self, harness: Harness
    ) -> None:
        plan = await accepted(harness)
        kickoff = plan.milestones[0].id
        harness.clock.set(datetime(2024, 8, 10, tzinfo=UTC))
        report = CompleteMilestone(kickoff, STAFF, note="Protokoll")
        await harness.run(lambda uow: complete_milestone(uow, report))
        reopen = ReopenMilestone(kickoff, "zu früh gemeldet", SABINE)
        await harness.run(lambda uow: reopen_milestone(uow, reopen))

        harness.clock.set(BERLIN_MIDNIGHT_AFTER)
        assert keys(await harness.scan().run_once()) == [("kickoff", "2024-08-15")]
        assert await harness.scan().run_once() == []


class TestRescheduling:
    async def test_a_reschedule_re_arms_the_alert_for_the_new_due_date(
        self, harness: Harness
    ) -> None:
        plan = await accepted(harness)
        kickoff = plan.milestones[0].id
        harness.clock.set(BERLIN_MIDNIGHT_AFTER)
        assert keys(await harness.scan().run_once()) == [("kickoff", "2024-08-15")]

        harness.clock.set(datetime(2024, 8, 16, 9, 0, tzinfo=UTC))
        cmd = RescheduleMilestone(kickoff, date(2024, 8, 20), "Krankheit", STAFF)
        await harness.run(lambda uow: reschedule_milestone(uow, cmd))
        assert await harness.scan().run_once() == []
        harness.clock.set(datetime(2024, 8, 20, 21, 59, tzinfo=UTC))
        assert await harness.scan().run_once() == []

        harness.clock.set(datetime(2024, 8, 20, 22, 0, tzinfo=UTC))
        assert keys(await harness.scan().run_once()) == [("kickoff", "2024-08-20")]
        assert await harness.scan().run_once() == []
        alerted = await harness.unit.overdue.alerted_due_dates(kickoff)
        assert alerted == [date(2024, 8, 15), date(2024, 8, 20)]

    async def test_moving_a_due_date_before_it_passed_alerts_only_for_the_new_one(
        self, harness: Harness
    ) -> None:
        plan = await accepted(harness)
        harness.clock.set(datetime(2024, 8, 10, tzinfo=UTC))
        cmd = RescheduleMilestone(plan.milestones[0].id, date(2024, 8, 26), "später", STAFF)
        await harness.run(lambda uow: reschedule_milestone(uow, cmd))

        harness.clock.set(datetime(2024, 8, 27, tzinfo=UTC))
        assert keys(await harness.scan().run_once()) == [("kickoff", "2024-08-26")]


class TestAcrossDaylightSavingChanges:
    @pytest.mark.parametrize(
        ("accepted_at", "due", "last_moment", "overdue_at"),
        [
            # Kick-off 14 days after acceptance is the spring-forward Sunday, so it is due on
            # Monday: that midnight is 22:00 UTC (CEST), not 23:00 as the week before.
            (
                datetime(2025, 3, 16, 10, 0, tzinfo=UTC),
                "2025-03-31",
                datetime(2025, 3, 31, 21, 59, 59, tzinfo=UTC),
                datetime(2025, 3, 31, 22, 0, tzinfo=UTC),
            ),
            # The fall-back Sunday moves it to Monday: that midnight is 23:00 UTC (CET).
            (
                datetime(2024, 10, 13, 10, 0, tzinfo=UTC),
                "2024-10-28",
                datetime(2024, 10, 28, 22, 59, 59, tzinfo=UTC),
                datetime(2024, 10, 28, 23, 0, tzinfo=UTC),
            ),
        ],
        ids=["spring-forward", "fall-back"],
    )
    async def test_the_alert_comes_at_berlin_midnight(
        self,
        harness: Harness,
        accepted_at: datetime,
        due: str,
        last_moment: datetime,
        overdue_at: datetime,
    ) -> None:
        await accepted(harness, accepted_at=accepted_at)
        harness.clock.set(last_moment)
        assert await harness.scan().run_once() == []
        harness.clock.set(overdue_at)
        assert keys(await harness.scan().run_once()) == [("kickoff", due)]
