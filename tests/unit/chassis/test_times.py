"""Times and days come as the RFC 3339 strings the OpenAPI documents, never as numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import BaseModel, ValidationError

from cimis_chassis.times import CalendarDate, Rfc3339Time


class Body(BaseModel):
    at: Rfc3339Time | None = None
    day: CalendarDate | None = None


def test_the_schema_says_date_time_and_date() -> None:
    properties = Body.model_json_schema()["properties"]
    assert {"type": "string", "format": "date-time"} in properties["at"]["anyOf"]
    assert {"type": "string", "format": "date"} in properties["day"]["anyOf"]


@pytest.mark.parametrize(
    "text", ["2026-03-01T00:00:00Z", "2026-03-01t01:00:00+01:00", "2026-03-01T00:00:00.123456Z"]
)
def test_an_rfc_3339_time_is_taken(text: str) -> None:
    at = Body(at=text).at
    assert at is not None
    assert at.astimezone(UTC) == datetime(2026, 3, 1, tzinfo=UTC).replace(
        microsecond=at.microsecond
    )


@pytest.mark.parametrize(
    "value",
    [0, 0.5, "0.5", "1772323200", "2026-03-01", "2026-03-01T00:00:00", "2026-03-01 00:00:00Z"],
)
def test_numbers_days_and_naive_times_are_no_time(value: object) -> None:
    with pytest.raises(ValidationError, match="RFC 3339"):
        Body(at=value)


def test_a_calendar_day_is_taken() -> None:
    assert Body(day="2026-03-01").day == date(2026, 3, 1)


@pytest.mark.parametrize("value", [0, "0", "86400", "2026-03-01T00:00:00Z", "20260301"])
def test_numbers_and_times_are_no_day(value: object) -> None:
    with pytest.raises(ValidationError, match="calendar day"):
        Body(day=value)
