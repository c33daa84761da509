"""Undertakings: the companies and organisations behind applications, and the limits on
what one of them may receive.

An undertaking is identified by its German VAT id or tax number (see
:func:`~services.intake.domain.identifiers.undertaking_key`), so that the same company
applying twice, in any spelling, is one undertaking. Per call it may hold at most the
call's per-undertaking maximum, and over three years its de-minimis aid (what it declared plus
every grant of this platform) stays within the ceiling of Regulation (EU) 2023/2831.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cimis_chassis.money import format_eur
from services.intake.domain.eligibility import DE_MINIMIS_CEILING_CENTS
from services.intake.domain.errors import IntakeRuleViolation
from services.intake.domain.teams import Team


@dataclass(frozen=True)
class Grant:
    """A team budget an undertaking was granted: an accepted team it is the company of."""

    team_id: str
    call_id: str
    budget_cents: int
    accepted_at: datetime


# Regulation (EU) 2023/2831, Art. 3(2): any period of three years.
DE_MINIMIS_PERIOD = timedelta(days=3 * 365)
REGULATION = "Verordnung (EU) 2023/2831"


def check_grant(
    team: Team,
    *,
    undertaking_id: str,
    max_per_call_cents: int,
    declared_prior_aid_cents: int,
    granted: Sequence[Grant],
    now: datetime,
) -> None:
    """Refuse an acceptance that would take the undertaking over the call's per-undertaking
    maximum (422 ``undertaking-cap-exceeded``) or the de-minimis ceiling over three years,
    counting its declared prior aid and this platform's grants (422 ``de-minimis-exceeded``).
    ``granted`` are the undertaking's grants for its other accepted teams."""
    others = [g for g in granted if g.team_id != team.id]
    in_call = sum(g.budget_cents for g in others if g.call_id == team.call_id)
    if in_call + team.budget_cents > max_per_call_cents:
        raise IntakeRuleViolation(
            "undertaking-cap-exceeded",
            f"The undertaking {undertaking_id} holds {format_eur(in_call)} EUR in this call "
            f"already; with this team's {format_eur(team.budget_cents)} EUR it would exceed "
            f"the call's per-undertaking maximum of {format_eur(max_per_call_cents)} EUR.",
        )
    since = now - DE_MINIMIS_PERIOD
    recent = sum(g.budget_cents for g in others if g.accepted_at >= since)
    total = declared_prior_aid_cents + recent + team.budget_cents
    if total > DE_MINIMIS_CEILING_CENTS:
        raise IntakeRuleViolation(
            "de-minimis-exceeded",
            f"De-minimis aid of the undertaking {undertaking_id} over three years would be "
            f"{format_eur(total)} EUR ({format_eur(declared_prior_aid_cents)} EUR declared, "
            f"{format_eur(recent)} EUR granted here, {format_eur(team.budget_cents)} EUR "
            f"now): above the ceiling of {format_eur(DE_MINIMIS_CEILING_CENTS)} EUR "
            f"({REGULATION}).",
        )
