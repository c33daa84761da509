"""Identifiers an applicant gives, checked and kept in one form."""

from __future__ import annotations

from stdnum.de import stnr, vat
from stdnum.exceptions import ValidationError

from cimis_chassis.text import clip
from services.intake.domain.errors import IntakeRuleViolation


def undertaking_key(given: str) -> str:
    """The one form of a VAT id ("DE136695976") or tax number ("StNr 18181508155");
    422 ``invalid-undertaking-id`` for anything else."""
    text = given.strip()
    digits = text[2:] if text[:2].upper() == "DE" else text
    try:
        return "DE" + vat.validate(digits)
    except ValidationError:
        pass
    try:
        return "StNr " + stnr.validate(text)
    except ValidationError:
        pass
    raise IntakeRuleViolation(
        "invalid-undertaking-id",
        f"{clip(given)!r} is neither a German VAT id (DE and nine digits, with a valid check "
        "digit) nor a German tax number.",
    )
