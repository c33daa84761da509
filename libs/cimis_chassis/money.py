"""Money as integer cents, and the EUR decimal strings the HTTP API speaks."""

from __future__ import annotations

import re
from typing import Annotated

from annotated_types import Ge, Gt
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from cimis_chassis.text import clip

# ASCII digits only: ``\d`` would also take "١.٠٠" (Arabic-Indic) or "１.００" (full-width).
_EUR_PATTERN = re.compile(r"(?P<sign>-?)(?P<euros>[0-9]{1,12})(?:\.(?P<cents>[0-9]{1,2}))?")
EUR_JSON_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"


class MoneyFormatError(ValueError):
    pass


def parse_eur(text: str) -> int:
    """Parse a EUR amount such as ``"12500.00"`` into integer cents.

    At most two decimal places; no thousands separators, exponents or floats.
    """
    if not isinstance(text, str):
        raise MoneyFormatError('money must be a decimal string such as "12500.00", not a number')
    match = _EUR_PATTERN.fullmatch(text.strip(" "))
    if match is None:
        raise MoneyFormatError(
            f"{clip(text)!r} is not a EUR amount: use a decimal string of ASCII digits with at "
            'most two places, such as "12500.00"'
        )
    cents = int(match["euros"]) * 100 + int((match["cents"] or "0").ljust(2, "0"))
    return -cents if match["sign"] else cents


def format_eur(cents: int) -> str:
    """Format integer cents as a EUR string with two places (``125000`` -> ``"1250.00"``)."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros}.{rest:02d}"


def _eur_to_cents(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        raise MoneyFormatError('money must be a decimal string such as "12500.00", not a number')
    return parse_eur(value)


EurCents = Annotated[
    int,
    BeforeValidator(_eur_to_cents),
    PlainSerializer(format_eur, return_type=str),
    WithJsonSchema({"type": "string", "pattern": EUR_JSON_PATTERN, "examples": ["12500.00"]}),
]
"""A pydantic field type: EUR decimal string on the wire, integer cents in code."""

NonNegativeEurCents = Annotated[EurCents, Ge(0)]
PositiveEurCents = Annotated[EurCents, Gt(0)]
