"""A team's burn rate (``/api/v1/teams/{team_id}/forecast``): spending against its plan."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from cimis_chassis.auth import Principal, Role, require
from cimis_chassis.money import format_eur
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import host_of
from cimis_chassis.text import comparison_key
from services.outcomes.adapters.forecast_store import team_progress
from services.outcomes.domain.report import BERLIN, end_of_day
from services.outcomes.entrypoints.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["forecast"])

Reader = Annotated[Principal, Depends(require(Role.STAFF, Role.FINANCE, Role.AGENT))]


@router.get("/teams/{team_id}/forecast")
async def team_forecast(team_id: Id, request: Request, principal: Reader) -> dict[str, Any]:
    """Approved spending so far (`spent`) against the curve of the team's phase plan
    (`expected_by_now`): each tranche of the call's tranche plan is expected to be spent evenly
    from its milestone's due day (the allocation's day for the first) to the next tranche's, the
    last over the call's settlement period when it comes at the plan's end (`ends_on`). The
    total is the cost plan in force (else the allocation), and `lines` show each cost plan line
    (none without a cost plan). A milestone waived by staff releases no money of its own: its
    tranche (`waived`) is not on the curve nor expected, and counts as unspent at the end.
    `forecast_unspent_at_end` carries the team's pace against its curve to the end. `status`
    is `ahead` or `behind` beyond the call's `burn_rate_tolerance_percent` (default 25) of
    what is expected by now, else `on_track`."""
    host = host_of(request)
    today = host.clock.now().astimezone(BERLIN).date()
    async with host.db.sessions() as session:
        progress = await team_progress(session, team_id, end_of_day(today))
    if progress is None:
        raise Problem(404, "not-found", f"team {team_id} is not known to outcomes")
    if principal.is_agent and comparison_key(principal.name) != progress.agent_id:
        raise Problem(403, "forbidden", "Agents may only see their own teams' forecasts.")
    if progress.plan_ends_on is None:
        raise Problem(409, "plan-not-known", "The team's phase plan has not arrived here yet.")
    result = progress.forecast(today)
    return {
        "team_id": team_id,
        "as_of": result.as_of.isoformat(),
        "starts_on": result.starts_on.isoformat(),
        "ends_on": result.ends_on.isoformat(),
        "plan_ends_on": result.plan_ends_on.isoformat(),
        "allocated": format_eur(result.allocated_cents),
        "planned": format_eur(result.planned_cents),
        "waived": format_eur(result.waived_cents),
        "spent": format_eur(result.spent_cents),
        "expected_by_now": format_eur(result.expected_by_now_cents),
        "forecast_unspent_at_end": format_eur(result.forecast_unspent_at_end_cents),
        "status": result.status,
        "lines": [
            {
                "position": line.position,
                "planned": format_eur(line.planned_cents),
                "spent": format_eur(line.spent_cents),
                "expected_by_now": format_eur(line.expected_by_now_cents),
                "forecast_unspent_at_end": format_eur(line.forecast_unspent_at_end_cents),
            }
            for line in result.lines
        ],
    }
