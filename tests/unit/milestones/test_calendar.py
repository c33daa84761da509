"""Due dates are Berlin calendar days on Saxon working days: the day boundary, DST changes,
weekends and Saxony's holidays fall where staff expect."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.milestones.domain.calendar import (
    berlin_day,
    due_date_after,
    is_past_due,
    is_working_day,
    next_working_day,
    overdue_from,
)


class TestBerlinDay:
    def test_late_evening_utc_in_summer_is_already_the_next_berlin_day(self) -> None:
        assert berlin_day(datetime(2024, 8, 1, 21, 59, 59, tzinfo=UTC)) == date(2024, 8, 1)
        assert berlin_day(datetime(2024, 8, 1, 22, 0, tzinfo=UTC)) == date(2024, 8, 2)

    def test_in_winter_the_berlin_day_starts_at_23_utc(self) -> None:
        assert berlin_day(datetime(2024, 12, 31, 22, 59, 59, tzinfo=UTC)) == date(2024, 12, 31)
        assert berlin_day(datetime(2024, 12, 31, 23, 0, tzinfo=UTC)) == date(2025, 1, 1)

    def test_a_naive_time_is_refused(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            berlin_day(datetime(2024, 8, 1, 12, 0))


class TestDueDates:
    def test_days_count_from_the_berlin_day_of_acceptance(self) -> None:
        # 00:30 on 2 August in Berlin, still 1 August in UTC.
        accepted_at = datetime(2024, 8, 1, 22, 30, tzinfo=UTC)
        assert due_date_after(accepted_at, 14) == date(2024, 8, 16)

    def test_a_dst_change_between_acceptance_and_due_date_moves_nothing(self) -> None:
        # Accepted at 23:30 CET, due after the spring change: 14 calendar days, not 14 x 24 h.
        accepted_at = datetime(2025, 3, 20, 22, 30, tzinfo=UTC)
        assert due_date_after(accepted_at, 14) == date(2025, 4, 3)
        accepted_at = datetime(2024, 10, 20, 22, 30, tzinfo=UTC)  # 00:30 CEST on 21 October
        assert due_date_after(accepted_at, 14) == date(2024, 11, 4)

    @pytest.mark.parametrize(
        ("accepted", "days", "due"),
        [
            # Sunday 9 March 2025 moves to Monday.
            (date(2024, 11, 9), 120, date(2025, 3, 10)),
            # 1 May (Tag der Arbeit) is a Thursday in 2025: the prototype is due on Friday.
            (date(2024, 12, 2), 150, date(2025, 5, 2)),
            # Reformationstag and Buß- und Bettag are holidays in Saxony, not in Berlin.
            (date(2024, 10, 17), 14, date(2024, 11, 1)),
            (date(2024, 11, 6), 14, date(2024, 11, 21)),
            # Christmas: 25 and 26 December, then a weekend.
            (date(2026, 12, 11), 14, date(2026, 12, 28)),
        ],
    )
    def test_a_due_date_nobody_works_on_moves_to_the_next_saxon_working_day(
        self, accepted: date, days: int, due: date
    ) -> None:
        accepted_at = datetime.combine(accepted, datetime.min.time(), UTC) + timedelta(hours=10)
        assert due_date_after(accepted_at, days) == due
        assert is_working_day(due)

    def test_a_working_day_stays_where_it_is(self) -> None:
        assert next_working_day(date(2024, 11, 19)) == date(2024, 11, 19)
        assert not is_working_day(date(2024, 11, 20))


class TestOverdue:
    def test_a_milestone_is_due_all_day_and_overdue_from_the_next_berlin_midnight(self) -> None:
        due = date(2024, 8, 15)
        assert overdue_from(due) == datetime(2024, 8, 15, 22, 0, tzinfo=UTC)
        assert not is_past_due(due, datetime(2024, 8, 15, 21, 59, 59, tzinfo=UTC))
        assert is_past_due(due, datetime(2024, 8, 15, 22, 0, tzinfo=UTC))

    @pytest.mark.parametrize(
        ("due", "overdue_at_utc"),
        [
            # Spring forward: the due day has only 23 hours; the next midnight is CEST.
            (date(2025, 3, 30), datetime(2025, 3, 30, 22, 0, tzinfo=UTC)),
            # The day before the change: midnight is still CET.
            (date(2025, 3, 29), datetime(2025, 3, 29, 23, 0, tzinfo=UTC)),
            # Fall back: the due day has 25 hours; the next midnight is CET.
            (date(2024, 10, 27), datetime(2024, 10, 27, 23, 0, tzinfo=UTC)),
            (date(2024, 10, 26), datetime(2024, 10, 26, 22, 0, tzinfo=UTC)),
        ],
    )
    def test_across_dst_changes_overdue_starts_at_local_midnight(
        self, due: date, overdue_at_utc: datetime
    ) -> None:
        assert overdue_from(due) == overdue_at_utc
        assert not is_past_due(due, overdue_at_utc - timedelta(microseconds=1))
        assert is_past_due(due, overdue_at_utc)
