"""Outcomes' burn-rate gauges show the calls with running teams, and only those."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry

from services.outcomes.adapters.metrics import OutcomesMetrics
from services.outcomes.app.forecast_watch import CallBurn


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.values()))): s.value
        for family in registry.collect()
        for s in family.samples
    }


def test_a_call_whose_teams_all_finished_loses_its_series() -> None:
    registry = CollectorRegistry()
    metrics = OutcomesMetrics(registry)
    metrics.show(
        {
            "call-1": CallBurn(Counter({"behind": 1, "on_track": 2}), 12_000_00),
            "call-2": CallBurn(Counter({"ahead": 1}), 0),
        }
    )

    metrics.show({"call-2": CallBurn(Counter({"on_track": 1}), 0)})

    assert samples(registry) == {
        ("cimis_outcomes_teams_by_burn_rate", ("ahead", "call-2")): 0,
        ("cimis_outcomes_teams_by_burn_rate", ("behind", "call-2")): 0,
        ("cimis_outcomes_teams_by_burn_rate", ("call-2", "on_track")): 1,
        ("cimis_outcomes_forecast_unspent_cents", ("call-2",)): 0,
    }


def test_no_running_teams_at_all_leaves_no_series() -> None:
    registry = CollectorRegistry()
    metrics = OutcomesMetrics(registry)
    metrics.show({"call-1": CallBurn(Counter({"on_track": 1}), 5_00)})

    metrics.show({})

    assert samples(registry) == {}
