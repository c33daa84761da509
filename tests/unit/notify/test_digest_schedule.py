"""When a weekly digest is due: a Berlin weekday and time, in the current ISO week only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.notify.domain.digest_schedule import (
    DEFAULT_SCHEDULE,
    DigestSchedule,
    digest_event_id,
    due_week,
    iso_week,
)
from services.notify.domain.errors import NotifyRuleViolation

MONDAY_8 = DEFAULT_SCHEDULE


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class TestParsing:
    def test_a_weekday_and_time_read_back_as_written(self) -> None:
        schedule = DigestSchedule.parse("friday", "16:30")

        assert schedule == DigestSchedule(4, time(16, 30))
        assert schedule.describe() == {"weekday": "friday", "time": "16:30"}
        assert DEFAULT_SCHEDULE.describe() == {"weekday": "monday", "time": "08:00"}

    @pytest.mark.parametrize(
        ("weekday", "at"),
        [("Monday", "08:00"), ("montag", "08:00"), ("monday", "8:00"), ("monday", "24:00")],
    )
    def test_anything_else_is_refused(self, weekday: str, at: str) -> None:
        with pytest.raises(NotifyRuleViolation):
            DigestSchedule.parse(weekday, at)


class TestDueWeek:
    def test_in_winter_monday_8_berlin_is_7_utc(self) -> None:
        assert due_week(MONDAY_8, utc(2025, 3, 3, 6, 59)) is None
        assert due_week(MONDAY_8, utc(2025, 3, 3, 7, 0)) == "2025-W10"

    def test_in_summer_monday_8_berlin_is_6_utc(self) -> None:
        assert due_week(MONDAY_8, utc(2025, 7, 7, 5, 59)) is None
        assert due_week(MONDAY_8, utc(2025, 7, 7, 6, 0)) == "2025-W28"

    def test_a_late_start_still_sends_this_weeks_digest(self) -> None:
        # The service was down all Monday: Wednesday and Sunday night are still this week.
        assert due_week(MONDAY_8, utc(2025, 3, 5, 12, 0)) == "2025-W10"
        assert due_week(MONDAY_8, utc(2025, 3, 9, 22, 59)) == "2025-W10"

    def test_the_week_turns_at_midnight_in_berlin_not_in_utc(self) -> None:
        # Sunday 23:30 UTC is Monday 00:30 in Berlin: a new week whose digest is not due yet,
        # and last week's is not due any more.
        assert due_week(MONDAY_8, utc(2025, 3, 9, 23, 30)) is None

    def test_a_friday_digest_is_not_due_earlier_in_the_week(self) -> None:
        friday = DigestSchedule.parse("friday", "16:30")

        assert due_week(friday, utc(2025, 3, 6, 12, 0)) is None
        assert due_week(friday, utc(2025, 3, 7, 15, 29)) is None
        assert due_week(friday, utc(2025, 3, 7, 15, 30)) == "2025-W10"

    def test_a_time_in_the_spring_gap_is_due_when_the_clocks_jump(self) -> None:
        # 30 March 2025: Berlin's clocks go from 02:00 CET straight to 03:00 CEST (01:00 UTC).
        sunday = DigestSchedule.parse("sunday", "02:30")

        assert due_week(sunday, utc(2025, 3, 30, 0, 59)) is None
        assert due_week(sunday, utc(2025, 3, 30, 1, 0)) == "2025-W13"

    def test_an_ambiguous_autumn_time_is_due_at_its_first_occurrence(self) -> None:
        # 26 October 2025: 02:30 happens twice; the first is 00:30 UTC (CEST).
        sunday = DigestSchedule.parse("sunday", "02:30")

        assert due_week(sunday, utc(2025, 10, 26, 0, 29)) is None
        assert due_week(sunday, utc(2025, 10, 26, 0, 30)) == "2025-W43"


class TestIsoWeeks:
    @pytest.mark.parametrize(
        ("day", "week"),
        [
            (date(2024, 12, 30), "2025-W01"),  # a Monday in December opens the next ISO year
            (date(2021, 1, 3), "2020-W53"),  # a Sunday in January closes the last one
            (date(2026, 12, 31), "2026-W53"),
            (date(2025, 3, 3), "2025-W10"),
        ],
    )
    def test_weeks_are_iso_weeks(self, day: date, week: str) -> None:
        assert iso_week(day) == week

    def test_the_digest_of_new_years_week_is_due_in_december(self) -> None:
        assert due_week(MONDAY_8, utc(2024, 12, 30, 7, 0)) == "2025-W01"
        assert due_week(MONDAY_8, utc(2024, 12, 30, 7, 0) - timedelta(minutes=1)) is None


class TestEventIds:
    def test_agent_and_week_make_the_event_id(self) -> None:
        assert digest_event_id("agent-anna", "2025-W10") == "digest:2025-W10:agent-anna"

    def test_a_long_agent_id_is_hashed_to_fit_the_column(self) -> None:
        long_one, other = "a" * 200, "a" * 199 + "b"

        assert len(digest_event_id(long_one, "2025-W10")) <= 100
        assert digest_event_id(long_one, "2025-W10") != digest_event_id(other, "2025-W10")
