"""The benchmark's shared inputs: the call no benchmark team is refused, its accepted teams."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from cimis_contracts.intake import CallOpenedV1, PhaseStep, TeamAcceptedV1, TrancheRule

BENCH_AGENT = "agent-bench"


def bench_call(call_id: str, now: datetime) -> CallOpenedV1:
    """A call whose pot never refuses a benchmark team."""
    return CallOpenedV1(
        call_id=call_id,
        title="Bench",
        districts=["Chemnitz"],
        opens_at=now,
        closes_at=now,
        total_budget_cents=10**12,
        max_team_budget_cents=50_000_00,
        tranches=[
            TrancheRule(milestone=None, percent=40),
            TrancheRule(milestone="final", percent=60),
        ],
        phase_plan=[PhaseStep(key="final", title="Abschluss", days_after_acceptance=180)],
    )


def team_accepted(team_id: str, call_id: str) -> TeamAcceptedV1:
    return TeamAcceptedV1(
        team_id=team_id,
        call_id=call_id,
        title="Bench team",
        agent_id=BENCH_AGENT,
        budget_cents=40_000_00,
        input_vat_deductible=False,
        company_application_id="co",
        creative_application_ids=["cr"],
        accepted_at=datetime.now(UTC),
    )


def percentiles(samples: list[float]) -> dict[str, Any]:
    """p50, p95, p99 and max of ``samples`` (seconds) in milliseconds; None when empty."""
    if not samples:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(samples)
    if len(ordered) == 1:
        q = [ordered[0]] * 99
    else:
        q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "count": len(ordered),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }
