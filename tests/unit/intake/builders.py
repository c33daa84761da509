"""Small builders for intake domain objects, so each test states only what it is about."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.intake.domain.applications import Application, submit_application
from services.intake.domain.calls import Call, new_call
from services.intake.domain.eligibility import ApplicantFacts

NOW = datetime(2024, 8, 1, 10, 0, tzinfo=UTC)


def a_call(**overrides: Any) -> Call:
    terms: dict[str, Any] = {
        "call_id": "call-1",
        "title": "CIMIS II",
        "districts": ["Erzgebirgskreis", "Chemnitz"],
        "opens_at": NOW - timedelta(days=30),
        "closes_at": datetime(2024, 9, 20, 21, 59, 59, tzinfo=UTC),
        "total_budget_cents": 1_000_000_00,
        "max_team_budget_cents": 50_000_00,
        "tranches": None,
        "phase_plan": None,
        "now": NOW,
    }
    terms.update(overrides)
    return new_call(**terms)


def company_facts(**overrides: Any) -> ApplicantFacts:
    facts = ApplicantFacts(
        kind="company",
        district="Erzgebirgskreis",
        employees=40,
        annual_turnover_cents=5_000_000_00,
        balance_sheet_total_cents=None,
        de_minimis_prior_aid_cents=0,
        challenge="Digitale Auftragsannahme",
        expertise=None,
        undertaking_id="DE136695976",
    )
    return replace(facts, **overrides)


def creative_facts(**overrides: Any) -> ApplicantFacts:
    facts = ApplicantFacts(
        kind="creative",
        district="Chemnitz",
        employees=None,
        annual_turnover_cents=None,
        balance_sheet_total_cents=None,
        de_minimis_prior_aid_cents=None,
        challenge=None,
        expertise="UX-Design",
    )
    return replace(facts, **overrides)


def an_application(
    app_id: str, facts: ApplicantFacts, call: Call | None = None, at: datetime = NOW
) -> Application:
    return submit_application(
        application_id=app_id,
        call=call or a_call(),
        name=f"Applicant {app_id}",
        contact_email=f"{app_id}@example.org",
        facts=facts,
        received_at=at,
    )
