"""Intake's domain objects as table rows and back: one mapping for repositories and queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Row

from cimis_chassis.text import comparison_key
from services.intake.domain.agents import KnownAgent
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call, PhaseStep, TrancheRule
from services.intake.domain.eligibility import ApplicantFacts, Eligibility, Reason
from services.intake.domain.teams import Team


def call_row(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "title": call.title,
        "districts": list(call.districts),
        "opens_at": call.opens_at,
        "closes_at": call.closes_at,
        "total_budget_cents": call.total_budget_cents,
        "max_team_budget_cents": call.max_team_budget_cents,
        "tranches": [{"milestone": t.milestone, "percent": t.percent} for t in call.tranches],
        "phase_plan": [
            {"key": s.key, "title": s.title, "days_after_acceptance": s.days_after_acceptance}
            for s in call.phase_plan
        ],
        "settlement_days": call.settlement_days,
        "cost_plan_tolerance_percent": call.cost_plan_tolerance_percent,
        "max_undertaking_budget_cents": call.max_undertaking_budget_cents,
        "escalation_days": call.escalation_days,
        "burn_rate_tolerance_percent": call.burn_rate_tolerance_percent,
        "created_at": call.created_at,
    }


def call_from_row(r: Row[Any]) -> Call:
    return Call(
        id=r.id,
        title=r.title,
        districts=tuple(r.districts),
        opens_at=r.opens_at,
        closes_at=r.closes_at,
        total_budget_cents=r.total_budget_cents,
        max_team_budget_cents=r.max_team_budget_cents,
        tranches=tuple(TrancheRule(t["milestone"], t["percent"]) for t in r.tranches),
        phase_plan=tuple(
            PhaseStep(s["key"], s["title"], s["days_after_acceptance"]) for s in r.phase_plan
        ),
        settlement_days=r.settlement_days,
        cost_plan_tolerance_percent=r.cost_plan_tolerance_percent,
        max_undertaking_budget_cents=r.max_undertaking_budget_cents,
        escalation_days=r.escalation_days,
        burn_rate_tolerance_percent=r.burn_rate_tolerance_percent,
        created_at=r.created_at,
    )


def application_row(app: Application) -> dict[str, Any]:
    f = app.facts
    return {
        "id": app.id,
        "call_id": app.call_id,
        "kind": f.kind,
        "name": app.name,
        "contact_email": app.contact_email,
        "district": f.district,
        "employees": f.employees,
        "annual_turnover_cents": f.annual_turnover_cents,
        "balance_sheet_total_cents": f.balance_sheet_total_cents,
        "de_minimis_prior_aid_cents": f.de_minimis_prior_aid_cents,
        "challenge": f.challenge,
        "expertise": f.expertise,
        "undertaking_id": f.undertaking_id,
        "status": app.status,
        "eligibility_reasons": [
            {"code": r.code, "message": r.message, "message_de": r.message_de}
            for r in app.eligibility.reasons
        ],
        "submitted_at": app.submitted_at,
        "entered_at": app.entered_at,
        "entered_by": app.entered_by,
    }


def application_from_row(r: Row[Any]) -> Application:
    return Application(
        id=r.id,
        call_id=r.call_id,
        name=r.name,
        contact_email=r.contact_email,
        facts=ApplicantFacts(
            kind=r.kind,
            district=r.district,
            employees=r.employees,
            annual_turnover_cents=r.annual_turnover_cents,
            balance_sheet_total_cents=r.balance_sheet_total_cents,
            de_minimis_prior_aid_cents=r.de_minimis_prior_aid_cents,
            challenge=r.challenge,
            expertise=r.expertise,
            undertaking_id=r.undertaking_id,
        ),
        eligibility=Eligibility(
            tuple(
                Reason(x["code"], x["message"], x.get("message_de")) for x in r.eligibility_reasons
            )
        ),
        submitted_at=r.submitted_at,
        entered_at=r.entered_at,
        entered_by=r.entered_by,
    )


def team_row(team: Team) -> dict[str, Any]:
    """The ``teams`` row; the creatives are rows of ``team_creatives`` (:func:`creative_rows`)."""
    return {
        "id": team.id,
        "call_id": team.call_id,
        "title": team.title,
        "challenge": team.challenge,
        "company_application_id": team.company_application_id,
        "agent_id": team.agent_id,
        "budget_cents": team.budget_cents,
        "input_vat_deductible": team.input_vat_deductible,
        "status": team.status,
        "created_at": team.created_at,
        "accepted_at": team.accepted_at,
        "withdrawn_at": team.withdrawn_at,
        "withdrawal_reason": team.withdrawal_reason,
        "budget_status": team.budget_status,
        "undertaking_id": team.undertaking_id,
    }


def creative_rows(team: Team) -> list[dict[str, Any]]:
    return [
        {"team_id": team.id, "application_id": app_id, "position": i}
        for i, app_id in enumerate(team.creative_application_ids)
    ]


def team_from_row(r: Row[Any], creatives: Sequence[str]) -> Team:
    return Team(
        id=r.id,
        call_id=r.call_id,
        title=r.title,
        challenge=r.challenge,
        company_application_id=r.company_application_id,
        creative_application_ids=tuple(creatives),
        agent_id=r.agent_id,
        budget_cents=r.budget_cents,
        input_vat_deductible=r.input_vat_deductible,
        status=r.status,
        created_at=r.created_at,
        accepted_at=r.accepted_at,
        withdrawn_at=r.withdrawn_at,
        withdrawal_reason=r.withdrawal_reason,
        budget_status=r.budget_status,
        undertaking_id=r.undertaking_id,
    )


def agent_row(agent: KnownAgent) -> dict[str, Any]:
    return {
        "key": comparison_key(agent.id),
        "id": agent.id,
        "name": agent.name,
        "updated_at": agent.updated_at,
        "retired_at": agent.retired_at,
    }


def agent_from_row(row: Row[Any]) -> KnownAgent:
    return KnownAgent(
        id=row.id, name=row.name, updated_at=row.updated_at, retired_at=row.retired_at
    )
