"""Teams and blueprint content as the outcomes tests need them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.outcomes.domain.blueprints import Contact, Content
from services.outcomes.domain.teams import COMPLETED, TeamRecord

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def a_team(**overrides: Any) -> TeamRecord:
    team = TeamRecord(
        id="team-1",
        call_id="call-1",
        title="Terminbuchung 2.0",
        agent_id="agent-anna",
        accepted_at=datetime(2025, 1, 15, 9, 0, tzinfo=UTC),
        district="Erzgebirgskreis",
        district_code="14521",
        plan_status=COMPLETED,
    )
    return replace(team, **overrides)


def content(**overrides: Any) -> Content:
    made = Content(
        title="Online-Terminbuchung für die Kfz-Werkstatt",
        problem="Kunden riefen zu Stoßzeiten an; die Werkstatt verlor Aufträge.",
        solution="Ein Buchungskalender auf der Website, mit der Werkstattplanung verbunden.",
        tools=("Nextcloud", "Cal.com"),
        lessons="Früh mit den Mitarbeitenden testen.",
        sector="Handwerk",
        licence="CC-BY-4.0",
        contacts=(
            Contact("Anna Berger", "Designerin", consent=True),
            Contact("Uwe Roth", "Meister", consent=False),
        ),
    )
    return replace(made, **overrides)
