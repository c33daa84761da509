"""A call-opened always carries a well-formed phase plan: a broken one is poison, not a call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cimis_chassis.envelope import EnvelopeError, parse_event
from cimis_contracts.base import decode_data
from cimis_contracts.intake import CallOpenedV1

SAMPLE = Path(__file__).parent / "samples" / f"{CallOpenedV1.TYPE}.json"


def step(key: str, days: int) -> dict[str, Any]:
    return {"key": key, "title": key.title(), "days_after_acceptance": days}


def with_plan(plan: list[dict[str, Any]]) -> str:
    raw = json.loads(SAMPLE.read_text())
    raw["data"]["phase_plan"] = plan
    raw["data"]["tranches"] = [{"milestone": None, "percent": 100}]
    return json.dumps(raw)


def test_a_one_step_plan_that_ends_with_final_is_a_plan() -> None:
    payload = decode_data(parse_event(with_plan([step("final", 90)])))
    assert isinstance(payload, CallOpenedV1)
    assert [s.key for s in payload.phase_plan] == ["final"]


@pytest.mark.parametrize(
    "plan",
    [
        [],
        [step("kickoff", 7), step("kickoff", 8), step("final", 9)],
        [step("final", 7), step("kickoff", 8)],
        [step("kickoff", 7), step("final", 7)],
        [step("kickoff", 8), step("prototype", 7), step("final", 9)],
        [step("launch", 7), step("final", 8)],
        [step("kickoff", 0), step("final", 8)],
    ],
    ids=["empty", "twice", "final-not-last", "same-day", "earlier-day", "unknown-key", "day-0"],
)
def test_a_broken_plan_makes_the_event_poison(plan: list[dict[str, Any]]) -> None:
    # Consumers dead-letter an event whose data does not decode; none ever plans from it.
    with pytest.raises(EnvelopeError, match="phase_plan"):
        decode_data(parse_event(with_plan(plan)))
