"""Times and calendar days as the HTTP API takes them: RFC 3339 strings, nothing else.

Pydantic's lax parsing would also take a number, or a numeric string, as a Unix timestamp
(``since=0.5`` is 1970-01-01T00:00:00.5Z) and a date-time where a day is asked for; the
OpenAPI says ``format: date-time`` and ``format: date``, and these types take exactly that.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from cimis_chassis.text import clip

# RFC 3339 ``date-time`` (section 5.6) and ``full-date``, in ASCII digits.
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE_TIME = re.compile(
    _DAY + r"[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_FULL_DATE = re.compile(_DAY)


def rfc3339_time(value: Any) -> Any:
    """``value`` if it is an RFC 3339 date-time string with its offset; else ``ValueError``."""
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        shown = clip(value) if isinstance(value, str) else type(value).__name__
        raise ValueError(
            f"{shown!r} is not an RFC 3339 time: use one with its offset, such as "
            "2026-03-01T00:00:00Z"
        )
    return value


def calendar_day(value: Any) -> Any:
    """``value`` if it is an RFC 3339 full-date string (``2026-03-01``); else ``ValueError``."""
    if not isinstance(value, str) or not _FULL_DATE.fullmatch(value):
        shown = clip(value) if isinstance(value, str) else type(value).__name__
        raise ValueError(f"{shown!r} is not a calendar day: use one such as 2026-03-01")
    return value


Rfc3339Time = Annotated[AwareDatetime, BeforeValidator(rfc3339_time)]
"""An RFC 3339 date-time with its offset (``format: date-time``); numbers are refused."""

CalendarDate = Annotated[date, BeforeValidator(calendar_day)]
"""An RFC 3339 full-date (``format: date``); numbers and date-times are refused."""


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is not a time that exists in UTC (year 1 to 9999)") from exc


UtcMoment = Annotated[Rfc3339Time, AfterValidator(_in_utc)]
"""An RFC 3339 time with its offset, converted to UTC; one beyond UTC's range is refused."""
