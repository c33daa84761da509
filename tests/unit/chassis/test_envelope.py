"""The CloudEvents envelope: what we write parses back, what is malformed is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cimis_chassis.envelope import EnvelopeError, make_event, parse_event
from cimis_contracts.base import UnknownEventType, decode_data
from cimis_contracts.catalog import registered_types
from cimis_contracts.intake import TeamAcceptedV1

AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_round_trip_keeps_every_attribute() -> None:
    event = make_event(
        source="cimis/intake",
        type_=TeamAcceptedV1.TYPE,
        subject="team-1",
        time=AT,
        data={"team_id": "team-1"},
        causation_id="req-1",
    )
    raw = event.to_json_bytes()
    body = json.loads(raw)
    assert body["time"] == "2026-03-01T10:00:00.000000Z"
    assert body["specversion"] == "1.0"
    assert body["correlationid"] == event.id  # a new chain starts at its first event
    assert parse_event(raw) == event


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"id": "x"}',
        b'{"specversion": "0.3", "id": "x", "source": "s", '
        b'"type": "t", "time": "2026-01-01T00:00:00Z", "data": {}}',
    ],
)
def test_malformed_records_raise_envelope_error(raw: bytes) -> None:
    with pytest.raises(EnvelopeError):
        parse_event(raw)


def test_naive_times_are_refused() -> None:
    with pytest.raises(EnvelopeError):
        parse_event(
            b'{"id": "x", "source": "s", "type": "t", "time": "2026-01-01T00:00:00", "data": {}}'
        )


def test_unknown_types_are_named() -> None:
    event = make_event(source="s", type_="de.cimis.nope.v9", subject="k", time=AT, data={})
    with pytest.raises(UnknownEventType, match="nope"):
        decode_data(event)


def test_catalog_knows_the_intake_events() -> None:
    assert {
        "de.cimis.intake.call_opened.v1",
        "de.cimis.intake.team_accepted.v1",
        "de.cimis.intake.team_withdrawn.v1",
    } <= set(registered_types())
