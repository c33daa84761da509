"""Quiet hours hold email and webhooks until the window ends, across midnight and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from services.notify.domain.errors import NotifyRuleViolation
from services.notify.domain.formatting import BERLIN
from services.notify.domain.quiet_hours import QuietHours, first_instant_at
from tests.unit.notify.builders import quiet

EVENING = quiet("20:00", "07:00")


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


class TestAWindowAcrossMidnight:
    @pytest.mark.parametrize(
        ("local", "inside"),
        [
            (berlin(2025, 1, 15, 19, 59), False),
            (berlin(2025, 1, 15, 20, 0), True),
            (berlin(2025, 1, 15, 23, 30), True),
            (berlin(2025, 1, 16, 0, 0), True),
            (berlin(2025, 1, 16, 6, 59), True),
            (berlin(2025, 1, 16, 7, 0), False),
            (berlin(2025, 1, 16, 12, 0), False),
        ],
    )
    def test_covers_the_evening_and_the_early_morning(self, local: datetime, inside: bool) -> None:
        assert EVENING.covers(local.astimezone(UTC)) is inside

    def test_an_evening_alert_waits_until_seven_the_next_morning(self) -> None:
        assert EVENING.release_time(berlin(2025, 1, 15, 21, 0)) == berlin(2025, 1, 16, 7, 0)

    def test_an_early_morning_alert_waits_until_seven_the_same_morning(self) -> None:
        assert EVENING.release_time(berlin(2025, 1, 16, 3, 0)) == berlin(2025, 1, 16, 7, 0)

    def test_outside_the_window_an_alert_goes_at_once(self) -> None:
        moment = berlin(2025, 1, 16, 7, 0).astimezone(UTC)
        assert EVENING.release_time(moment) == moment


class TestAWindowWithinOneDay:
    def test_a_lunch_break_defers_to_its_end_the_same_day(self) -> None:
        lunch = quiet("12:00", "13:30")
        assert lunch.covers(berlin(2025, 6, 2, 12, 45))
        assert not lunch.covers(berlin(2025, 6, 2, 13, 30))
        assert lunch.release_time(berlin(2025, 6, 2, 12, 45)) == berlin(2025, 6, 2, 13, 30)


class TestDaylightSavingTime:
    def test_the_night_clocks_go_forward_ends_at_seven_summer_time(self) -> None:
        released = EVENING.release_time(datetime(2025, 3, 29, 20, 0, tzinfo=UTC))  # 21:00 CET

        assert released == datetime(2025, 3, 30, 5, 0, tzinfo=UTC)  # 07:00 CEST, 9 h later
        assert released.astimezone(BERLIN).hour == 7

    def test_the_night_clocks_go_back_ends_at_seven_winter_time(self) -> None:
        released = EVENING.release_time(datetime(2025, 10, 25, 19, 0, tzinfo=UTC))  # 21:00 CEST

        assert released == datetime(2025, 10, 26, 6, 0, tzinfo=UTC)  # 07:00 CET, 11 h later

    def test_an_end_inside_the_skipped_hour_is_when_the_clocks_jump(self) -> None:
        night = quiet("22:00", "02:30")

        released = night.release_time(datetime(2025, 3, 29, 22, 0, tzinfo=UTC))  # 23:00 CET

        assert released == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)  # 03:00 CEST
        assert not night.covers(released)

    def test_an_end_inside_the_repeated_hour_is_its_first_occurrence(self) -> None:
        night = quiet("22:00", "02:30")

        released = night.release_time(datetime(2025, 10, 25, 21, 0, tzinfo=UTC))  # 23:00 CEST

        assert released == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)

    def test_both_copies_of_the_repeated_hour_are_quiet(self) -> None:
        night = quiet("01:00", "05:00")
        first = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST
        second = datetime(2025, 10, 26, 1, 30, tzinfo=UTC)  # 02:30 CET

        assert night.covers(first)
        assert night.covers(second)
        assert night.release_time(second) == datetime(2025, 10, 26, 4, 0, tzinfo=UTC)

    def test_first_instant_at_an_ordinary_time_is_that_time(self) -> None:
        assert first_instant_at(datetime(2025, 7, 1).date(), time(7, 0)) == datetime(
            2025, 7, 1, 5, 0, tzinfo=UTC
        )


class TestDefiningQuietHours:
    def test_equal_start_and_end_is_refused(self) -> None:
        with pytest.raises(NotifyRuleViolation) as raised:
            quiet("07:00", "07:00")
        assert raised.value.code == "invalid-quiet-hours"

    @pytest.mark.parametrize("text", ["24:00", "7:00", "07:60", "0700", "", "07:00:00"])
    def test_a_time_that_is_not_hh_mm_is_refused(self, text: str) -> None:
        with pytest.raises(NotifyRuleViolation):
            QuietHours.parse(text, "08:00")

    def test_describe_gives_back_the_times_as_set(self) -> None:
        assert EVENING.describe() == {"start": "20:00", "end": "07:00"}
