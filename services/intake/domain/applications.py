"""An application (Antrag) and the rule that decides whether it may be submitted now."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cimis_chassis.text import clip
from services.intake.domain.calls import BERLIN, Call
from services.intake.domain.districts import canonical_district, valid_values
from services.intake.domain.eligibility import ApplicantFacts, Eligibility, assess
from services.intake.domain.errors import IntakeRuleViolation
from services.intake.domain.identifiers import undertaking_key

KINDS = ("company", "organisation", "creative")


@dataclass(frozen=True)
class Application:
    id: str
    call_id: str
    name: str
    contact_email: str
    facts: ApplicantFacts
    eligibility: Eligibility
    # When the application reached the office: it decides the deadline.
    submitted_at: datetime
    # When and by whom it was entered, if later (by post, by mail): kept for the audit.
    entered_at: datetime | None = None
    entered_by: str | None = None

    @property
    def kind(self) -> str:
        return self.facts.kind

    @property
    def status(self) -> str:
        return "submitted" if self.eligibility.eligible else "ineligible"


def submit_application(
    *,
    application_id: str,
    call: Call,
    name: str,
    contact_email: str,
    facts: ApplicantFacts,
    received_at: datetime,
    entered_at: datetime | None = None,
    entered_by: str | None = None,
) -> Application:
    """Take in an application as of the time it was received (the server's time unless staff
    entered one that arrived by post or mail); keep ineligible ones with reasons."""
    if entered_at is not None and received_at > entered_at:
        raise IntakeRuleViolation(
            "received-in-future",
            "An application cannot have been received after it is entered: received_at "
            f"{received_at.astimezone(BERLIN).strftime('%d.%m.%Y %H:%M')} (Europe/Berlin) lies "
            "in the future.",
        )
    state = call.window_state(received_at)
    if state == "closed":
        deadline = call.closes_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
        raise IntakeRuleViolation(
            "call-closed",
            f"The call closed on {deadline} (Europe/Berlin); applications are refused.",
        )
    if state == "not-open":
        opens = call.opens_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
        raise IntakeRuleViolation("call-not-open", f"The call opens on {opens} (Europe/Berlin).")
    if facts.kind not in KINDS:
        raise IntakeRuleViolation(
            "invalid-application", f"Unknown applicant kind {clip(facts.kind)!r}."
        )
    if not name.strip():
        raise IntakeRuleViolation("invalid-application", "An application needs a name.")
    # The seat by its official name; one that is no Saxon district is refused outright.
    seat = canonical_district(facts.district)
    if seat is None:
        raise IntakeRuleViolation(
            "unknown-district",
            f"Not a Saxon district or district-free city: {clip(facts.district)}. Valid keys "
            f"and names: {valid_values()}.",
        )
    facts = replace(facts, district=seat)
    if facts.undertaking_id:
        facts = replace(facts, undertaking_id=undertaking_key(facts.undertaking_id))
    return Application(
        id=application_id,
        call_id=call.id,
        name=name.strip(),
        contact_email=contact_email,
        facts=facts,
        eligibility=assess(facts, call),
        submitted_at=received_at,
        entered_at=entered_at,
        entered_by=entered_by,
    )
