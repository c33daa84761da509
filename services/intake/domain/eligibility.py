"""Eligibility of an application, with every reason spelled out for the programme office."""

from __future__ import annotations

from dataclasses import dataclass

from cimis_chassis.text import clip
from services.intake.domain.calls import Call

# EU SME definition (Recommendation 2003/361/EC).
SME_MAX_EMPLOYEES = 249
SME_MAX_TURNOVER_CENTS = 50_000_000_00
SME_MAX_BALANCE_SHEET_CENTS = 43_000_000_00
# De-minimis ceiling per undertaking over three rolling years (Regulation (EU) 2023/2831).
DE_MINIMIS_CEILING_CENTS = 300_000_00


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    # The same in German, for the programme office's letters; None on reasons stored before.
    message_de: str | None = None


@dataclass(frozen=True)
class Eligibility:
    reasons: tuple[Reason, ...]

    @property
    def eligible(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class ApplicantFacts:
    kind: str  # company | organisation | creative
    district: str
    employees: int | None
    annual_turnover_cents: int | None
    balance_sheet_total_cents: int | None
    de_minimis_prior_aid_cents: int | None
    challenge: str | None
    expertise: str | None
    # Companies and organisations: the undertaking (VAT id or tax number, one form).
    undertaking_id: str | None = None


def assess(facts: ApplicantFacts, call: Call) -> Eligibility:
    """All reasons an applicant cannot take part in ``call``; none means eligible."""
    reasons: list[Reason] = []
    if facts.district not in call.districts:
        reasons.append(
            Reason(
                "district-not-eligible",
                f"The seat in {clip(facts.district)} is outside this call's districts "
                f"({', '.join(call.districts)}).",
                f"Der Sitz in {clip(facts.district)} liegt außerhalb der Gebiete dieses "
                f"Aufrufs ({', '.join(call.districts)}).",
            )
        )
    if facts.kind == "creative":
        if not (facts.expertise or "").strip():
            reasons.append(
                Reason(
                    "expertise-missing",
                    "Creative professionals must describe their expertise.",
                    "Kreativschaffende beschreiben bitte ihre Expertise.",
                )
            )
        return Eligibility(tuple(reasons))
    if facts.kind == "company":
        reasons.extend(_sme_reasons(facts))
    elif facts.employees is not None and facts.employees > SME_MAX_EMPLOYEES:
        reasons.append(
            Reason(
                "not-small-organisation",
                f"{facts.employees} employees: the programme funds small organisations "
                f"(at most {SME_MAX_EMPLOYEES}).",
                f"{facts.employees} Beschäftigte: gefördert werden kleine Organisationen "
                f"(höchstens {SME_MAX_EMPLOYEES}).",
            )
        )
    reasons.extend(_de_minimis_reasons(facts))
    if not facts.undertaking_id:
        reasons.append(
            Reason(
                "undertaking-id-missing",
                "Give the undertaking's VAT id or tax number: caps and de-minimis aid are "
                "counted per undertaking.",
                "Bitte die USt-IdNr. oder Steuernummer des Unternehmens angeben: Höchstbeträge "
                "und De-minimis-Beihilfen werden je Unternehmen gezählt.",
            )
        )
    if not (facts.challenge or "").strip():
        reasons.append(
            Reason(
                "challenge-missing",
                "Describe the digital challenge the team should work on.",
                "Beschreiben Sie bitte die digitale Herausforderung, an der das Team arbeiten "
                "soll.",
            )
        )
    return Eligibility(tuple(reasons))


def _sme_reasons(facts: ApplicantFacts) -> list[Reason]:
    if facts.employees is None or facts.annual_turnover_cents is None:
        return [
            Reason(
                "sme-data-missing",
                "Companies must state their employees and annual turnover (SME check).",
                "Unternehmen geben bitte Beschäftigtenzahl und Jahresumsatz an (KMU-Prüfung).",
            )
        ]
    reasons = []
    if facts.employees > SME_MAX_EMPLOYEES:
        reasons.append(
            Reason(
                "not-sme-employees",
                f"{facts.employees} employees: an SME has fewer than {SME_MAX_EMPLOYEES + 1}.",
                f"{facts.employees} Beschäftigte: ein KMU hat weniger als {SME_MAX_EMPLOYEES + 1}.",
            )
        )
    turnover_ok = facts.annual_turnover_cents <= SME_MAX_TURNOVER_CENTS
    balance_ok = (
        facts.balance_sheet_total_cents is not None
        and facts.balance_sheet_total_cents <= SME_MAX_BALANCE_SHEET_CENTS
    )
    if not (turnover_ok or balance_ok):
        reasons.append(
            Reason(
                "not-sme-financials",
                "Annual turnover above 50 million EUR and no balance sheet total of at most "
                "43 million EUR: not an SME.",
                "Jahresumsatz über 50 Mio. EUR und keine Bilanzsumme von höchstens 43 Mio. EUR: "
                "kein KMU.",
            )
        )
    return reasons


def _de_minimis_reasons(facts: ApplicantFacts) -> list[Reason]:
    if facts.de_minimis_prior_aid_cents is None:
        return [
            Reason(
                "de-minimis-declaration-missing",
                "Declare the de-minimis aid received in the last three years (0.00 if none).",
                "Bitte die De-minimis-Beihilfen der letzten drei Jahre angeben (0,00 wenn keine).",
            )
        ]
    if facts.de_minimis_prior_aid_cents >= DE_MINIMIS_CEILING_CENTS:
        return [
            Reason(
                "de-minimis-ceiling-reached",
                "Prior de-minimis aid has reached the ceiling of 300,000 EUR over three years.",
                "Die bisherigen De-minimis-Beihilfen erreichen den Höchstbetrag von "
                "300.000 EUR in drei Jahren.",
            )
        ]
    return []


def de_minimis_room_cents(prior_aid_cents: int | None) -> int:
    """How much more de-minimis aid an undertaking may receive."""
    return max(0, DE_MINIMIS_CEILING_CENTS - (prior_aid_cents or 0))
