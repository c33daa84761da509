"""Programme days: due dates are Saxon working days in Europe/Berlin, whatever the UTC instant.

A due date that would fall on a weekend or on one of Saxony's public holidays (Reformationstag
and Buß- und Bettag included, from the ``holidays`` library's subdivision SN) moves to the next
working day, as an office would set it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_day(moment: datetime) -> date:
    """The Europe/Berlin calendar day ``moment`` (timezone-aware) falls on."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a timezone is required")
    return moment.astimezone(BERLIN).date()


@lru_cache(maxsize=64)
def _saxon_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DE", subdiv="SN", years=year))


def saxon_holiday(day: date) -> bool:
    return day in _saxon_holidays(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not saxon_holiday(day)


def next_working_day(day: date) -> date:
    """``day`` itself when people work in Saxony that day, else the next day they do."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def due_date_after(accepted_at: datetime, days: int) -> date:
    """Calendar days, not 24-hour periods (a DST change never moves a due date), landing on
    the next Saxon working day."""
    return next_working_day(berlin_day(accepted_at) + timedelta(days=days))


def is_past_due(due_date: date, now: datetime) -> bool:
    """Overdue once the due day has ended in Berlin, i.e. from the following local midnight."""
    return berlin_day(now) > due_date


def overdue_from(due_date: date) -> datetime:
    """The instant a milestone due on ``due_date`` becomes overdue (next Berlin midnight)."""
    return datetime.combine(due_date + timedelta(days=1), time.min, BERLIN)
