"""An outcomes service per test module, on SQLite, fed the platform's events by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from cimis_contracts.base import EventData
from cimis_contracts.budget import ExpenseApprovedV1
from cimis_contracts.intake import TeamAcceptedV1
from cimis_contracts.milestones import PlanCompletedV1
from services.outcomes.bootstrap import create_app
from services.outcomes.entrypoints.consumer import outcomes_consumer
from services.outcomes.settings import OutcomesSettings
from tests.support.feed import published_event, record_of
from tests.support.service_app import START, RunningService, running_service


@pytest.fixture(scope="module")
async def outcomes(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    async with running_service(
        create_app, OutcomesSettings, tmp_path=tmp_path_factory.mktemp("outcomes")
    ) as service:
        yield service


async def feed(service: RunningService, *payloads: EventData) -> None:
    """The platform's events, through outcomes' own consumer, as Kafka would hand them over."""
    events = [published_event(service, p) for p in payloads]
    await outcomes_consumer(service.host).process(
        [record_of(e, offset) for offset, e in enumerate(events)]
    )


async def a_finished_team(
    service: RunningService, team_id: str, *, agent_id: str = "agent-anna", **accepted: Any
) -> None:
    """A team accepted, its expenses approved on two lines, its plan completed."""
    now = service.clock.now()
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "title": f"Team {team_id}",
        "agent_id": agent_id,
        "budget_cents": 45_000_00,
        "input_vat_deductible": False,
        "company_application_id": f"{team_id}-co",
        "creative_application_ids": [f"{team_id}-cr"],
        "accepted_at": now - timedelta(days=200),
        "district": "Erzgebirgskreis",
        "district_code": "14521",
    }
    await feed(
        service,
        TeamAcceptedV1(**(fields | accepted)),
        approved(team_id, "e1", "personnel", 12_000_00),
        approved(team_id, "e2", "external_services", 8_500_50),
        PlanCompletedV1(team_id=team_id, call_id="call-1", completed_at=now),
    )


def approved(team_id: str, expense_id: str, position: str, cents: int) -> ExpenseApprovedV1:
    return ExpenseApprovedV1(
        team_id=team_id,
        call_id="call-1",
        expense_id=f"{team_id}-{expense_id}",
        position=position,
        fundable_cents=cents,
        approved_total_cents=cents,
        approved_by="fiona",
        approved_at=START,
    )


BLUEPRINT: dict[str, Any] = {
    "title": "Online-Terminbuchung für die Kfz-Werkstatt",
    "problem": "Kunden riefen zu Stoßzeiten an; die Werkstatt verlor Aufträge.",
    "solution": "Ein Buchungskalender auf der Website, mit der Werkstattplanung verbunden.",
    "tools": ["Nextcloud", "Cal.com"],
    "lessons": "Früh mit den Mitarbeitenden testen.",
    "sector": "Handwerk",
    "licence": "CC-BY-4.0",
    "contacts": [
        {"name": "Anna Berger", "role": "Designerin", "consent": True},
        {"name": "Uwe Roth", "role": "Meister", "consent": False},
    ],
}
