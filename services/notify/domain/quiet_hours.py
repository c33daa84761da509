"""Quiet hours: a daily Europe/Berlin window in which email and webhooks wait (never drop)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.notify.domain.errors import NotifyRuleViolation
from services.notify.domain.formatting import BERLIN

_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class QuietHours:
    """From ``start`` to ``end`` local time; ``start > end`` spans midnight (20:00 to 07:00)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise NotifyRuleViolation(
                "invalid-quiet-hours", "Quiet hours need different start and end times."
            )

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        return cls(_parse_clock(start), _parse_clock(end))

    @property
    def spans_midnight(self) -> bool:
        return self.start > self.end

    def covers(self, moment: datetime) -> bool:
        """Whether ``moment`` falls into the window (start inclusive, end exclusive)."""
        wall = moment.astimezone(BERLIN).time().replace(tzinfo=None)
        if self.spans_midnight:
            return wall >= self.start or wall < self.end
        return self.start <= wall < self.end

    def release_time(self, moment: datetime) -> datetime:
        """When something due at ``moment`` may go out: ``moment`` itself, or the window's end."""
        if not self.covers(moment):
            return moment
        local = moment.astimezone(BERLIN)
        day = local.date()
        if self.spans_midnight and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        return first_instant_at(day, self.end)

    def describe(self) -> dict[str, str]:
        return {"start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}


def first_instant_at(day: date, wall: time) -> datetime:
    """The first UTC instant on ``day`` at which Berlin's clocks show ``wall`` or later.

    On the night clocks go forward a wall time such as 02:30 does not exist; the window then
    ends when the clocks jump (03:00 CEST). On the night they go back, the first 02:30 counts.
    """
    candidate = datetime.combine(day, wall, BERLIN)  # fold=0: the first of two, if ambiguous
    instant = candidate.astimezone(UTC)
    if instant.astimezone(BERLIN).replace(tzinfo=None) == candidate.replace(tzinfo=None):
        return instant
    # A wall time inside the spring gap: walk from just before the gap to the jump.
    probe = candidate.replace(fold=1).astimezone(UTC)
    while probe.astimezone(BERLIN).replace(tzinfo=None) < candidate.replace(tzinfo=None):
        probe += timedelta(minutes=1)
    return probe


def _parse_clock(text: str) -> time:
    match = _HH_MM.match(text)
    if match is None:
        raise NotifyRuleViolation(
            "invalid-quiet-hours", f"{text!r} is not a time of day such as '20:00'."
        )
    return time(int(match[1]), int(match[2]))
