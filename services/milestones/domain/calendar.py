"""Programme days: due dates are calendar days in Europe/Berlin, whatever the UTC instant."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_day(moment: datetime) -> date:
    """The Europe/Berlin calendar day ``moment`` (timezone-aware) falls on."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a timezone is required")
    return moment.astimezone(BERLIN).date()


def due_date_after(accepted_at: datetime, days: int) -> date:
    """Calendar days, not 24-hour periods: a DST change never moves a due date."""
    return berlin_day(accepted_at) + timedelta(days=days)


def is_past_due(due_date: date, now: datetime) -> bool:
    """Overdue once the due day has ended in Berlin, i.e. from the following local midnight."""
    return berlin_day(now) > due_date


def overdue_from(due_date: date) -> datetime:
    """The instant a milestone due on ``due_date`` becomes overdue (next Berlin midnight)."""
    return datetime.combine(due_date + timedelta(days=1), time.min, BERLIN)
