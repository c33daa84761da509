"""Failed sends are retried with exponential backoff, capped, until they are given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.delivery import EMAIL, INBOX, GiveUp, Retry, RetryPolicy, after_failure
from tests.unit.notify.builders import quiet

POLICY = RetryPolicy(base_seconds=30, factor=2, max_seconds=3600, max_attempts=8)
NOON = datetime(2025, 1, 15, 11, 0, tzinfo=UTC)  # 12:00 in Berlin


def test_the_delay_doubles_after_each_failure_up_to_the_cap() -> None:
    delays = [POLICY.delay(n).total_seconds() for n in range(1, 10)]

    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_very_long_failure_streak_stays_at_the_cap() -> None:
    assert POLICY.delay(10_000) == timedelta(hours=1)


def test_a_transient_failure_is_retried_after_the_backoff() -> None:
    decision = after_failure(
        channel=EMAIL, attempts=3, permanent=False, now=NOON, policy=POLICY, quiet_hours=None
    )

    assert decision == Retry(NOON + timedelta(seconds=120))


def test_the_last_allowed_attempt_gives_up() -> None:
    decision = after_failure(
        channel=EMAIL, attempts=8, permanent=False, now=NOON, policy=POLICY, quiet_hours=None
    )

    assert isinstance(decision, GiveUp)
    assert "8 attempts" in decision.reason


def test_a_permanent_failure_gives_up_at_once() -> None:
    decision = after_failure(
        channel=EMAIL, attempts=1, permanent=True, now=NOON, policy=POLICY, quiet_hours=None
    )

    assert isinstance(decision, GiveUp)


def test_a_retry_that_would_fall_into_quiet_hours_waits_for_their_end() -> None:
    evening = datetime(2025, 1, 15, 18, 58, tzinfo=UTC)  # 19:58 Berlin; +4 min is quiet

    decision = after_failure(
        channel=EMAIL,
        attempts=3,
        permanent=False,
        now=evening,
        policy=RetryPolicy(base_seconds=60, factor=2, max_seconds=3600, max_attempts=8),
        quiet_hours=quiet("20:00", "07:00"),
    )

    assert decision == Retry(datetime(2025, 1, 16, 6, 0, tzinfo=UTC))


def test_quiet_hours_never_hold_back_the_inbox() -> None:
    decision = after_failure(
        channel=INBOX,
        attempts=1,
        permanent=False,
        now=datetime(2025, 1, 15, 21, 0, tzinfo=UTC),
        policy=POLICY,
        quiet_hours=quiet("20:00", "07:00"),
    )

    assert decision == Retry(datetime(2025, 1, 15, 21, 0, 30, tzinfo=UTC))


def test_a_zero_base_retries_immediately_for_fast_tests() -> None:
    policy = RetryPolicy(base_seconds=0, factor=2, max_seconds=0, max_attempts=3)
    assert [policy.delay(n) for n in (1, 2)] == [timedelta(0), timedelta(0)]


@pytest.mark.parametrize("attempts", [0, -1])
def test_the_delay_is_defined_only_after_a_failure(attempts: int) -> None:
    with pytest.raises(AssertionError):
        POLICY.delay(attempts)
