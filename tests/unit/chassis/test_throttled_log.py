"""A repeating problem is written once per interval with a count, never once per retry."""

from __future__ import annotations

import logging

import pytest

from cimis_chassis.logs import ThrottledLog


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_problem_repeated_within_the_interval_is_counted_not_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = Ticks()
    problems = ThrottledLog(logging.getLogger("throttle-test"), 60.0, clock=ticks)
    with caplog.at_level(logging.WARNING, logger="throttle-test"):
        for second in range(0, 125, 5):  # a retry every 5 s for two minutes
            ticks.now = float(second)
            problems.report("db-down", "database unreachable", exc_info=RuntimeError("x"))

    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "database unreachable",
        "database unreachable (and 11 more time(s) in the last 60 s)",
        "database unreachable (and 11 more time(s) in the last 60 s)",
    ]


def test_a_resolved_problem_is_news_again(caplog: pytest.LogCaptureFixture) -> None:
    ticks = Ticks()
    problems = ThrottledLog(logging.getLogger("throttle-test"), 60.0, clock=ticks)
    with caplog.at_level(logging.WARNING, logger="throttle-test"):
        problems.report("broker-down", "broker unreachable")
        problems.resolve("broker-down")
        ticks.now = 1.0
        problems.report("broker-down", "broker unreachable")
        problems.report("other", "another problem")

    assert [r.getMessage() for r in caplog.records] == [
        "broker unreachable",
        "broker unreachable",
        "another problem",
    ]
