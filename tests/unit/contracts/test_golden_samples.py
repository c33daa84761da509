"""Golden samples: every published event type still reads the JSON it was published with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cimis_chassis.envelope import parse_event
from cimis_contracts.base import decode_data
from cimis_contracts.budget import AllocationRefusedV1, BudgetAllocatedV1
from cimis_contracts.catalog import registered_types
from cimis_contracts.intake import CallOpenedV1, TeamAcceptedV1
from cimis_contracts.milestones import MilestoneCompletedV1
from cimis_contracts.outcomes import TeamSpendingOffPlanV1

SAMPLES = Path(__file__).parent / "samples"


def test_every_registered_type_has_a_golden_sample() -> None:
    missing = sorted(set(registered_types()) - {p.stem for p in SAMPLES.glob("*.json")})
    assert missing == [], f"add a golden sample for {missing}"


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_a_sample_decodes_and_re_encodes_unchanged(sample: Path) -> None:
    raw = sample.read_text()
    event = parse_event(raw)
    assert event.type == sample.stem
    payload = decode_data(event)
    # A removed, renamed or retyped field breaks consumers of the published type: make a .v2.
    assert payload.model_dump(mode="json") == json.loads(raw)["data"]
    assert payload.subject() == event.subject
    assert json.loads(event.to_json_bytes()) == json.loads(raw)


def test_a_refusal_published_before_it_carried_the_team_maximum_still_decodes() -> None:
    raw = json.loads((SAMPLES / "de.cimis.budget.allocation_refused.v1.json").read_text())
    del raw["data"]["max_team_budget_cents"]
    payload = decode_data(parse_event(json.dumps(raw)))
    assert isinstance(payload, AllocationRefusedV1)
    assert payload.max_team_budget_cents is None


def test_a_call_opened_before_calls_had_a_settlement_period_gets_the_default() -> None:
    raw = json.loads((SAMPLES / "de.cimis.intake.call_opened.v1.json").read_text())
    del raw["data"]["settlement_days"]
    payload = decode_data(parse_event(json.dumps(raw)))
    assert isinstance(payload, CallOpenedV1)
    assert payload.settlement_days == 90


def test_a_call_opened_before_cost_plans_had_a_tolerance_gets_the_default() -> None:
    raw = json.loads((SAMPLES / "de.cimis.intake.call_opened.v1.json").read_text())
    del raw["data"]["cost_plan_tolerance_percent"]
    payload = decode_data(parse_event(json.dumps(raw)))
    assert isinstance(payload, CallOpenedV1)
    assert payload.cost_plan_tolerance_percent == 20


def test_an_allocation_published_before_the_waiting_list_reads_as_an_ordinary_one() -> None:
    raw = json.loads((SAMPLES / "de.cimis.budget.allocated.v1.json").read_text())
    del raw["data"]["from_waiting_list"]
    payload = decode_data(parse_event(json.dumps(raw)))
    assert isinstance(payload, BudgetAllocatedV1)
    assert payload.from_waiting_list is False


def test_a_completion_from_before_reports_reads_without_a_reporter() -> None:
    raw = json.loads((SAMPLES / "de.cimis.milestones.milestone_completed.v1.json").read_text())
    del raw["data"]["reported_by"]
    payload = decode_data(parse_event(json.dumps(raw)))
    assert isinstance(payload, MilestoneCompletedV1)
    assert payload.reported_by is None


def test_a_team_accepted_before_it_named_its_district_reads_without_one() -> None:
    raw = json.loads((SAMPLES / "de.cimis.intake.team_accepted.v1.json").read_text())
    del raw["data"]["district"]
    del raw["data"]["district_code"]
    payload = decode_data(parse_event(json.dumps(raw)))
    assert isinstance(payload, TeamAcceptedV1)
    assert (payload.district, payload.district_code) == (None, None)


def test_a_call_opened_before_burn_rates_were_watched_gets_the_default() -> None:
    raw = json.loads((SAMPLES / "de.cimis.intake.call_opened.v1.json").read_text())
    del raw["data"]["burn_rate_tolerance_percent"]
    payload = decode_data(parse_event(json.dumps(raw)))
    assert isinstance(payload, CallOpenedV1)
    assert payload.burn_rate_tolerance_percent == 25


def test_a_spending_alert_from_before_it_named_the_spending_periods_end_reads_without_one() -> None:
    raw = json.loads((SAMPLES / "de.cimis.outcomes.team_spending_off_plan.v1.json").read_text())
    del raw["data"]["spending_ends_on"]
    payload = decode_data(parse_event(json.dumps(raw)))
    assert isinstance(payload, TeamSpendingOffPlanV1)
    assert payload.spending_ends_on is None
