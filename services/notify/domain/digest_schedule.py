"""When an agent's weekly digest is due: a weekday and a Berlin time in each ISO week.

Weeks are ISO weeks of the Berlin calendar. Only the current week's digest is ever due: one
missed while the service was down is sent later that week, but an earlier week's is stale.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.notify.domain.errors import NotifyRuleViolation
from services.notify.domain.formatting import BERLIN
from services.notify.domain.quiet_hours import first_instant_at

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class DigestSchedule:
    """A weekday and a Berlin wall-clock time: when in each week the digest goes out."""

    weekday: int  # as date.weekday(): 0 is Monday
    at: time

    @classmethod
    def parse(cls, weekday: str, at: str) -> DigestSchedule:
        match = _HH_MM.match(at)
        if weekday not in WEEKDAYS or match is None:
            raise NotifyRuleViolation(
                "invalid-digest", f"{weekday!r} {at!r} is not a weekday and time like monday 08:00."
            )
        return cls(WEEKDAYS.index(weekday), time(int(match[1]), int(match[2])))

    def describe(self) -> dict[str, str]:
        return {"weekday": WEEKDAYS[self.weekday], "time": self.at.strftime("%H:%M")}


DEFAULT_SCHEDULE = DigestSchedule(0, time(8, 0))


def iso_week(day: date) -> str:
    """``2025-W10``: the ISO year and week, which differ from the calendar year around 1 January."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def berlin_today(now: datetime) -> date:
    return now.astimezone(BERLIN).date()


def due_week(schedule: DigestSchedule, now: datetime) -> str | None:
    """The current Berlin ISO week if its digest moment has passed at ``now``, else None."""
    today = berlin_today(now)
    monday = today - timedelta(days=today.weekday())
    # A time inside the spring-forward gap goes out when the clocks jump (see first_instant_at).
    moment = first_instant_at(monday + timedelta(days=schedule.weekday), schedule.at)
    return iso_week(today) if now >= moment else None


def digest_event_id(agent_id: str, week: str) -> str:
    """The notification's event id: with the recipient it keys one digest per agent and week.

    The column holds 100 characters and agent ids have up to 200: a long id is hashed.
    """
    readable = f"digest:{week}:{agent_id}"
    if len(readable) <= 100:
        return readable
    return f"digest:{week}:{hashlib.sha256(agent_id.encode()).hexdigest()}"
