"""A team: one company or organisation, at least one creative, an agent and a budget."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from cimis_chassis.text import same_ident
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call
from services.intake.domain.eligibility import de_minimis_room_cents
from services.intake.domain.errors import IntakeRuleViolation, StateConflict

PROPOSED, ACCEPTED, WITHDRAWN = "proposed", "accepted", "withdrawn"


@dataclass(frozen=True)
class Team:
    id: str
    call_id: str
    title: str
    challenge: str
    company_application_id: str
    creative_application_ids: tuple[str, ...]
    agent_id: str
    budget_cents: int
    input_vat_deductible: bool
    status: str
    created_at: datetime
    accepted_at: datetime | None = None
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    # What budget made of the team, as its events told: pending until the first arrives.
    budget_status: str = "pending"
    # The company's or organisation's undertaking, from its application.
    undertaking_id: str | None = None

    @property
    def application_ids(self) -> tuple[str, ...]:
        return (self.company_application_id, *self.creative_application_ids)


def propose_team(
    *,
    team_id: str,
    call: Call,
    title: str,
    challenge: str,
    company: Application,
    creatives: list[Application],
    agent_id: str,
    budget_cents: int,
    input_vat_deductible: bool,
    already_in_accepted_team: Collection[str],
    now: datetime,
) -> Team:
    """Form a team from eligible applications of one call, within the call's limits."""
    if not title.strip() or not agent_id.strip():
        raise IntakeRuleViolation("invalid-team", "A team needs a title and a network agent.")
    if company.kind not in ("company", "organisation"):
        raise IntakeRuleViolation(
            "invalid-team",
            f"Application {company.id} is from a {company.kind}, not a company or organisation.",
        )
    if not creatives:
        raise IntakeRuleViolation(
            "invalid-team", "A team needs at least one creative professional."
        )
    creative_ids = [c.id for c in creatives]
    if len(set(creative_ids)) != len(creative_ids):
        raise IntakeRuleViolation("invalid-team", "A creative application is listed twice.")
    for creative in creatives:
        if creative.kind != "creative":
            raise IntakeRuleViolation(
                "invalid-team", f"Application {creative.id} is not from a creative professional."
            )
    for application in (company, *creatives):
        if application.call_id != call.id:
            raise IntakeRuleViolation(
                "invalid-team", f"Application {application.id} belongs to another call."
            )
        if not application.eligibility.eligible:
            raise IntakeRuleViolation(
                "application-ineligible", f"Application {application.id} is not eligible."
            )
    taken = sorted(set(already_in_accepted_team) & {company.id, *creative_ids})
    if taken:
        raise StateConflict(
            "application-taken", f"Already in an accepted team: {', '.join(taken)}."
        )
    _check_budget(call, company, budget_cents)
    return Team(
        id=team_id,
        call_id=call.id,
        title=title.strip(),
        challenge=challenge.strip(),
        company_application_id=company.id,
        creative_application_ids=tuple(creative_ids),
        agent_id=agent_id.strip(),
        budget_cents=budget_cents,
        input_vat_deductible=input_vat_deductible,
        status=PROPOSED,
        created_at=now,
        undertaking_id=company.facts.undertaking_id,
    )


def _check_budget(call: Call, company: Application, budget_cents: int) -> None:
    if budget_cents <= 0:
        raise IntakeRuleViolation("invalid-team", "The team budget must be positive.")
    if budget_cents > call.max_team_budget_cents:
        raise IntakeRuleViolation(
            "team-budget-above-maximum",
            "The team budget exceeds the call's per-team maximum.",
        )
    if budget_cents > de_minimis_room_cents(company.facts.de_minimis_prior_aid_cents):
        raise IntakeRuleViolation(
            "de-minimis-ceiling-exceeded",
            "With this budget the company's de-minimis aid would exceed 300,000 EUR "
            "in three years.",
        )


def accept(team: Team, *, already_in_accepted_team: Collection[str], now: datetime) -> Team:
    """Accept a proposed team; accepting an accepted team returns it unchanged."""
    if team.status == ACCEPTED:
        return team
    if team.status == WITHDRAWN:
        raise StateConflict("team-withdrawn", "A withdrawn team cannot be accepted.")
    taken = sorted(set(already_in_accepted_team) & set(team.application_ids))
    if taken:
        raise StateConflict(
            "application-taken", f"Already in another accepted team: {', '.join(taken)}."
        )
    return replace(team, status=ACCEPTED, accepted_at=now)


def withdraw(team: Team, *, reason: str, now: datetime) -> Team:
    """Withdraw a team; withdrawing a withdrawn team returns it unchanged."""
    if team.status == WITHDRAWN:
        return team
    if not reason.strip():
        raise IntakeRuleViolation("invalid-withdrawal", "Give a reason for the withdrawal.")
    return replace(team, status=WITHDRAWN, withdrawn_at=now, withdrawal_reason=reason.strip())


def reassign(team: Team, *, agent_id: str, reason: str) -> Team:
    """Give the team another network agent; naming its own agent again returns it unchanged."""
    if team.status == WITHDRAWN:
        raise StateConflict("team-withdrawn", "A withdrawn team cannot be reassigned.")
    if not reason.strip():
        raise IntakeRuleViolation("invalid-reassignment", "Give a reason for the reassignment.")
    if same_ident(team.agent_id, agent_id):
        return team
    return replace(team, agent_id=agent_id)
