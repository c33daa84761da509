"""Outcomes' business metrics: each call's teams by burn-rate status and its likely leftover."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from services.outcomes.app.forecast_watch import CallBurn
from services.outcomes.domain.forecast import AHEAD, BEHIND, ON_TRACK


class OutcomesMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.teams = Gauge(
            "cimis_outcomes_teams_by_burn_rate",
            "Running teams of a call by how their approved spending follows their plan "
            "(ahead, behind, on_track), as of the last burn-rate scan.",
            ["call", "status"],
            registry=registry,
        )
        self.unspent = Gauge(
            "cimis_outcomes_forecast_unspent_cents",
            "Money a call's running teams would leave unspent at their plans' ends at their "
            "pace against their plans' curves, in cents.",
            ["call"],
            registry=registry,
        )

        self._shown: set[str] = set()

    def show(self, by_call: dict[str, CallBurn]) -> None:
        """Each call with running teams; a call whose teams all finished (plan completed,
        cancelled, withdrawn) since the last scan loses its series rather than keep them."""
        for call_id, burn in by_call.items():
            for status in (AHEAD, BEHIND, ON_TRACK):
                self.teams.labels(call_id, status).set(burn.teams[status])
            self.unspent.labels(call_id).set(burn.forecast_unspent_cents)
        for call_id in self._shown - set(by_call):
            for status in (AHEAD, BEHIND, ON_TRACK):
                self.teams.remove(call_id, status)
            self.unspent.remove(call_id)
        self._shown = set(by_call)
