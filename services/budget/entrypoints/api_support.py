"""What budget's API modules share: who may call, the team a path names, and downloads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from cimis_chassis import localised
from cimis_chassis.auth import READ_ALL, Principal, Role, require
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import ServiceHost
from cimis_chassis.text import same_ident
from services.budget.adapters.queries import BudgetQueries
from services.budget.domain.budgets import TeamBudget
from services.budget.entrypoints import exports
from services.budget.entrypoints.receipt_list import Language

Reader = Annotated[Principal, Depends(require(*READ_ALL))]
TeamReader = Annotated[Principal, Depends(require(*READ_ALL, Role.AGENT))]
Submitter = Annotated[Principal, Depends(require(Role.STAFF, Role.FINANCE, Role.AGENT))]
Finance = Annotated[Principal, Depends(require(Role.FINANCE))]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
StaffOrAgent = Annotated[Principal, Depends(require(Role.STAFF, Role.AGENT))]
StaffOrFinance = Annotated[Principal, Depends(require(Role.STAFF, Role.FINANCE))]
Separator = Annotated[exports.Separator, Query(description="',' (default) or ';'")]
DecimalMark = Annotated[exports.DecimalMark, Query(description="'point' (default) or 'comma'")]


def host(request: Request) -> ServiceHost:
    return request.app.state.host  # type: ignore[no-any-return]


def own_team_only(principal: Principal, team: TeamBudget) -> None:
    if principal.is_agent and not same_ident(team.agent_id, principal.name):
        raise Problem(403, "forbidden", "Agents may only act on the teams they coach.")


async def known_team(request: Request, team_id: str) -> TeamBudget:
    async with host(request).db.sessions() as session:
        team = await BudgetQueries(session).get_team(team_id)
    if team is None:
        raise Problem(404, "not-found", f"No budget for team {team_id} (not accepted yet?).")
    return team


class CsvResponse(Response):
    """A CSV download; documented as ``text/csv`` rather than FastAPI's default JSON."""

    media_type = "text/csv"


CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "UTF-8 with a byte order mark; `sep` and `decimal` as asked."}
}


def language_of(request: Request, lang: Language | None) -> Language:
    return localised.language_of(lang, request.headers.get("accept-language", ""))


def csv_download(text: str, filename: str) -> CsvResponse:
    return CsvResponse(
        # A BOM lets spreadsheet programs detect UTF-8 (umlauts in payees and purposes).
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_format(
    language: Language, sep: exports.Separator | None, decimal: exports.DecimalMark | None
) -> tuple[exports.Separator, exports.DecimalMark]:
    """What a CSV download uses unless asked otherwise: German lists ``;`` and a decimal
    comma, English ones ``,`` and a point."""
    german = language == "de"
    return sep or (";" if german else ","), decimal or ("comma" if german else "point")
