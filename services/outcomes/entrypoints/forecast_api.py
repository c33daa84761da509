"""A team's burn rate (``/api/v1/teams/{team_id}/forecast``): spending against its plan."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from cimis_chassis.auth import Principal, Role, require
from cimis_chassis.money import format_eur
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import host_of
from cimis_chassis.text import comparison_key
from services.outcomes.adapters.report_store import team_progress
from services.outcomes.domain.report import BERLIN, end_of_day
from services.outcomes.entrypoints.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["forecast"])

Reader = Annotated[Principal, Depends(require(Role.STAFF, Role.FINANCE, Role.AGENT))]


@router.get("/teams/{team_id}/forecast")
async def team_forecast(team_id: Id, request: Request, principal: Reader) -> dict[str, Any]:
    """Approved spending so far (`spent`) against the plan's linear curve from acceptance to
    the last milestone's due day (`expected_by_now`), and what the team's pace so far would
    leave unspent at the plan's end. `status` is `ahead` or `behind` beyond the call's
    `burn_rate_tolerance_percent` (default 25) of what is expected by now, else `on_track`."""
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
        "allocated": format_eur(result.allocated_cents),
        "spent": format_eur(result.spent_cents),
        "expected_by_now": format_eur(result.expected_by_now_cents),
        "forecast_unspent_at_end": format_eur(result.forecast_unspent_at_end_cents),
        "status": result.status,
    }
