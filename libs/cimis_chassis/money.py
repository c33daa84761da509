"""Money as integer cents, and the EUR decimal strings the HTTP API speaks."""

from __future__ import annotations

import re
from typing import Annotated

from annotated_types import Ge, Gt
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from cimis_chassis.text import clip

# ASCII digits only: ``\d`` would also take "١.٠٠" (Arabic-Indic) or "１.００" (full-width).
_EUR_PATTERN = re.compile(r"(?P<sign>-?)(?P<euros>[0-9]{1,12})(?:\.(?P<cents>[0-9]{1,2}))?")
_UNSIGNED = r"[0-9]{1,12}(\.[0-9]{1,2})?"
EUR_JSON_PATTERN = rf"^-?{_UNSIGNED}$"
"""Any amount, negative ones too (what :data:`EurCents` takes)."""
NON_NEGATIVE_EUR_JSON_PATTERN = rf"^{_UNSIGNED}$"
"""No sign at all: ``-0.00`` is refused too (what :data:`NonNegativeEurCents` takes)."""
ZERO_EUR_JSON_PATTERN = r"^0{1,12}(\.0{1,2})?$"
"""Zero in every spelling; a positive amount matches the non-negative pattern and not this."""


class MoneyFormatError(ValueError):
    pass


def parse_eur(text: str) -> int:
    """Parse a EUR amount such as ``"12500.00"`` into integer cents.

    At most two decimal places; no thousands separators, exponents or floats.
    """
    if not isinstance(text, str):
        raise MoneyFormatError('money must be a decimal string such as "12500.00", not a number')
    # Exactly the documented pattern: no spaces, no other signs, nothing stripped.
    match = _EUR_PATTERN.fullmatch(text)
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


def german_amount(cents: int) -> str:
    """Integer cents as a German reads an amount: ``4500000`` -> ``"45.000,00"``."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros:,}".replace(",", ".") + f",{rest:02d}"


def _eur_to_cents(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        raise MoneyFormatError('money must be a decimal string such as "12500.00", not a number')
    return parse_eur(value)


def _unsigned_eur_to_cents(value: object) -> int:
    if isinstance(value, str) and value.startswith("-"):
        raise MoneyFormatError(f"{clip(value)!r}: this amount must not be negative")
    return _eur_to_cents(value)


_AS_STRING = PlainSerializer(format_eur, return_type=str)
_EXAMPLES = ["12500.00"]

EurCents = Annotated[
    int,
    BeforeValidator(_eur_to_cents),
    _AS_STRING,
    WithJsonSchema({"type": "string", "pattern": EUR_JSON_PATTERN, "examples": _EXAMPLES}),
]
"""A pydantic field type: EUR decimal string on the wire, integer cents in code."""

NonNegativeEurCents = Annotated[
    int,
    BeforeValidator(_unsigned_eur_to_cents),
    Ge(0),
    _AS_STRING,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": NON_NEGATIVE_EUR_JSON_PATTERN,
            "description": "A EUR amount of zero or more, without a sign.",
            "examples": _EXAMPLES,
        }
    ),
]
"""Like :data:`EurCents` without a sign, documented with its own pattern."""

PositiveEurCents = Annotated[
    int,
    BeforeValidator(_unsigned_eur_to_cents),
    Gt(0),
    _AS_STRING,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": NON_NEGATIVE_EUR_JSON_PATTERN,
            # JSON Schema has no minimum for strings: zero, in every spelling, is excluded.
            "not": {"pattern": ZERO_EUR_JSON_PATTERN},
            "description": "A EUR amount above zero, without a sign.",
            "examples": _EXAMPLES,
        }
    ),
]
"""Like :data:`NonNegativeEurCents`, zero refused too."""
