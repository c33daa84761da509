"""Intake's HTTP request and response bodies; money as EUR strings, times as RFC 3339."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from cimis_chassis.money import NonNegativeEurCents, PositiveEurCents, format_eur
from cimis_chassis.text import AS_IDENT, EMAIL, LINE_BREAKS_ONLY, NO_CONTROLS
from cimis_chassis.times import UtcMoment
from services.intake.domain.applications import Application
from services.intake.domain.calls import BERLIN, Call
from services.intake.domain.districts import DISTRICTS, district_code
from services.intake.domain.teams import Team

MilestoneKey = Literal["kickoff", "workshop", "prototype", "test", "final"]


_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339's date-time, its offset optional: without one, it is Berlin's wall-clock time.
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


def _berlin(value: Any, *, end_of_day: bool) -> Any:
    """Deadlines are Europe/Berlin: a bare date means that whole day, a naive time is local."""
    if isinstance(value, str) and _FULL_DATE.fullmatch(value):
        day = date.fromisoformat(value)
        if end_of_day:
            return datetime.combine(day, time.max, BERLIN)
        return datetime.combine(day, time.min, BERLIN)
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=BERLIN)
    # Not a number either: pydantic would read one as a Unix timestamp.
    raise ValueError(
        "use an RFC 3339 time (2024-09-20T12:00:00Z), one without its offset "
        "(Europe/Berlin) or a calendar day (2024-09-20)"
    )


def _time_schema(day_means: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
            ],
            "description": f"RFC 3339. A calendar day means {day_means} in Europe/Berlin; a "
            "time without an offset (2024-09-20T12:00:00) is Europe/Berlin time too.",
        }
    )


OpeningTime = Annotated[
    AwareDatetime,
    BeforeValidator(lambda v: _berlin(v, end_of_day=False)),
    _time_schema("the start of that day"),
]
Deadline = Annotated[
    AwareDatetime,
    BeforeValidator(lambda v: _berlin(v, end_of_day=True)),
    _time_schema("the end of that day"),
]
# Every text field refuses control characters; paragraphs keep their line breaks.
Text = Annotated[str, Field(min_length=1, max_length=300), NO_CONTROLS]
LongText = Annotated[str, Field(max_length=10_000), LINE_BREAKS_ONLY]
Email = Annotated[str, Field(max_length=320), EMAIL]
District = Annotated[str, Field(min_length=1, max_length=100), NO_CONTROLS]
# Calls and applications name Saxon districts only (else 422 unknown-district): the schema
# lists the official keys and names; the names in another case or Unicode form are taken too.
SaxonDistrict = Annotated[
    District,
    WithJsonSchema(
        {
            "type": "string",
            "enum": [*DISTRICTS, *DISTRICTS.values()],
            "description": "A Saxon district or district-free city by its official key (AGS, "
            "e.g. 14521) or name, in any case or Unicode form; answers give the official name "
            "and key.",
        }
    ),
]
# Ids compare in any case and Unicode form: stored as their comparison key.
# (StringConstraints rather than Field: the same types serve as path and query parameters.)
Id = Annotated[str, StringConstraints(min_length=1, max_length=100), AS_IDENT]
AgentId = Annotated[str, StringConstraints(min_length=1, max_length=200), AS_IDENT]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrancheIn(Strict):
    milestone: MilestoneKey | None
    percent: int = Field(gt=0, le=100)


class PhaseIn(Strict):
    key: MilestoneKey
    title: Text
    days_after_acceptance: int = Field(gt=0, le=3650)


class CallIn(Strict):
    title: Text
    districts: list[SaxonDistrict] = Field(min_length=1, max_length=20)
    opens_at: OpeningTime
    closes_at: Deadline
    total_budget: PositiveEurCents
    max_team_budget: PositiveEurCents
    tranches: list[TrancheIn] | None = Field(default=None, min_length=1, max_length=5)
    phase_plan: list[PhaseIn] | None = Field(default=None, min_length=1, max_length=5)
    settlement_days: int | None = Field(
        default=None,
        ge=0,
        le=730,
        description="Days after the plan's end during which a team's costs still count "
        "(settlement period); default 90.",
    )
    cost_plan_tolerance_percent: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="How far (percent of a line's planned amount) a team's cost plan may "
        "shift without a second staff member's approval; default 20.",
    )
    max_undertaking_budget: PositiveEurCents | None = Field(
        default=None,
        description="What one undertaking (company or organisation) may hold in the call, "
        "over all its teams; default: the per-team maximum.",
    )
    escalation_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="Days an overdue milestone may stay open before the programme office "
        "is alerted as well as the agent; default 14.",
    )
    burn_rate_tolerance_percent: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="How far (percent of what is expected by then) a team's approved spending "
        "may run ahead of or behind its plan before the agent, and the office when money "
        "would be left, are told; default 25.",
    )


class BudgetIncreaseIn(Strict):
    amount: PositiveEurCents
    reason: Annotated[str, Field(min_length=1, max_length=2000), LINE_BREAKS_ONLY]


class ApplicationIn(Strict):
    call_id: Id
    kind: Literal["company", "organisation", "creative"]
    name: Text
    contact_email: Email
    district: SaxonDistrict
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    annual_turnover: NonNegativeEurCents | None = None
    balance_sheet_total: NonNegativeEurCents | None = None
    de_minimis_prior_aid: NonNegativeEurCents | None = None
    challenge: LongText | None = None
    expertise: LongText | None = None
    undertaking_id: Annotated[str, Field(min_length=1, max_length=40), NO_CONTROLS] | None = Field(
        default=None,
        description="Companies and organisations: the German VAT id (DE and nine digits) "
        "or tax number; checked, and answered in one form.",
    )
    received_at: UtcMoment | None = Field(
        default=None,
        description="When the application reached the office (RFC 3339 with offset), for one "
        "that arrived by post or mail and is entered later; decides the deadline. Not in the "
        "future; default: now.",
    )


class TeamIn(Strict):
    call_id: Id
    title: Text
    challenge: LongText
    company_application_id: Id
    creative_application_ids: list[Id] = Field(min_length=1, max_length=20)
    agent_id: AgentId
    budget: PositiveEurCents
    input_vat_deductible: bool = False


class WithdrawIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=2000), LINE_BREAKS_ONLY]


class ReassignIn(Strict):
    agent_id: AgentId = Field(description="A registered, active network agent.")
    reason: Annotated[str, Field(min_length=1, max_length=2000), LINE_BREAKS_ONLY]


def _ts(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def call_out(call: Call, now: datetime) -> dict[str, Any]:
    return {
        "id": call.id,
        "title": call.title,
        "districts": list(call.districts),
        "district_codes": [district_code(name) for name in call.districts],
        "opens_at": _ts(call.opens_at),
        "closes_at": _ts(call.closes_at),
        "closes_at_local": call.closes_at.astimezone(BERLIN).isoformat(),
        "state": call.window_state(now),
        "total_budget": format_eur(call.total_budget_cents),
        "max_team_budget": format_eur(call.max_team_budget_cents),
        "tranches": [{"milestone": t.milestone, "percent": t.percent} for t in call.tranches],
        "phase_plan": [
            {"key": s.key, "title": s.title, "days_after_acceptance": s.days_after_acceptance}
            for s in call.phase_plan
        ],
        "settlement_days": call.settlement_days,
        "cost_plan_tolerance_percent": call.cost_plan_tolerance_percent,
        "escalation_days": call.escalation_days,
        "burn_rate_tolerance_percent": call.burn_rate_tolerance_percent,
        "max_undertaking_budget": format_eur(call.undertaking_cap_cents),
        "created_at": _ts(call.created_at),
    }


def _eur(cents: int | None) -> str | None:
    return None if cents is None else format_eur(cents)


def application_out(app: Application) -> dict[str, Any]:
    f = app.facts
    return {
        "id": app.id,
        "call_id": app.call_id,
        "kind": f.kind,
        "name": app.name,
        "contact_email": app.contact_email,
        "district": f.district,
        "district_code": district_code(f.district),
        "undertaking_id": f.undertaking_id,
        "employees": f.employees,
        "annual_turnover": _eur(f.annual_turnover_cents),
        "balance_sheet_total": _eur(f.balance_sheet_total_cents),
        "de_minimis_prior_aid": _eur(f.de_minimis_prior_aid_cents),
        "challenge": f.challenge,
        "expertise": f.expertise,
        "status": app.status,
        "eligibility": {
            "eligible": app.eligibility.eligible,
            "reasons": [
                {"code": r.code, "message": r.message, "message_de": r.message_de}
                for r in app.eligibility.reasons
            ],
        },
        "submitted_at": _ts(app.submitted_at),
        "received_at": _ts(app.submitted_at),
        "entered_at": _ts(app.entered_at or app.submitted_at),
        "entered_by": app.entered_by,
    }


def team_out(team: Team) -> dict[str, Any]:
    return {
        "id": team.id,
        "call_id": team.call_id,
        "title": team.title,
        "challenge": team.challenge,
        "company_application_id": team.company_application_id,
        "creative_application_ids": list(team.creative_application_ids),
        "agent_id": team.agent_id,
        "budget": format_eur(team.budget_cents),
        "input_vat_deductible": team.input_vat_deductible,
        "status": team.status,
        "created_at": _ts(team.created_at),
        "accepted_at": _ts(team.accepted_at),
        "withdrawn_at": _ts(team.withdrawn_at),
        "withdrawal_reason": team.withdrawal_reason,
        # pending | allocated | waiting | refused | closed, from budget's events.
        "budget_status": team.budget_status,
    }
