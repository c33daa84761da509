"""EUR decimal strings in, integer cents in code; numbers and odd formats are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from cimis_chassis.money import (
    EUR_JSON_PATTERN,
    EurCents,
    MoneyFormatError,
    NonNegativeEurCents,
    PositiveEurCents,
    format_eur,
    parse_eur,
)


class Body(BaseModel):
    amount: PositiveEurCents


@pytest.mark.parametrize(
    ("text", "cents"),
    [("12500.00", 1_250_000), ("0.5", 50), ("7", 700), ("0.05", 5), ("-3.10", -310)],
)
def test_parses_decimal_strings(text: str, cents: int) -> None:
    assert parse_eur(text) == cents


@pytest.mark.parametrize("text", ["1,50", "1.505", "1e3", "", "EUR 5", "1 000.00", ".5"])
def test_refuses_other_formats(text: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_eur(text)


@pytest.mark.parametrize(
    "text", ["١.٠٠", "１.００", "1\u0660.00", "۱۲.۵۰", "1.0\uff10", "1\u200b.00", "1.00\n"]
)
def test_only_ascii_digits_are_money(text: str) -> None:
    with pytest.raises(MoneyFormatError, match="ASCII digits"):
        parse_eur(text)


def test_the_json_schema_pattern_says_ascii_digits() -> None:
    class Signed(BaseModel):
        amount: EurCents

    pattern = Signed.model_json_schema()["properties"]["amount"]["pattern"]
    assert pattern == EUR_JSON_PATTERN == r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
    assert re.fullmatch(pattern.strip("^$"), "12500.00")
    assert not re.fullmatch(pattern.strip("^$"), "١.٠٠")


def _documented(schema: dict[str, Any], text: str) -> bool:
    """Whether ``text`` matches ``schema`` as JSON Schema reads it: pattern, and ``not``."""
    if not re.search(schema["pattern"], text):
        return False
    return "not" not in schema or not re.search(schema["not"]["pattern"], text)


@pytest.mark.parametrize(
    ("amount_type", "accepted", "refused"),
    [
        (
            PositiveEurCents,
            ["0.01", "1", "12500.00", "007.5"],
            ["0", "0.00", "000.0", "-5.00", "-0.00", " 1", "1.001"],
        ),
        (
            NonNegativeEurCents,
            ["0", "0.00", "1", "12500.00"],
            ["-5.00", "-0.00", "-0", " 1", "+1"],
        ),
        (EurCents, ["-5.00", "0", "12500.00"], [" 1", "+1", "1.001"]),
    ],
)
def test_the_documented_pattern_is_what_the_type_takes(
    amount_type: Any, accepted: list[str], refused: list[str]
) -> None:
    class Amount(BaseModel):
        amount: amount_type

    schema = Amount.model_json_schema()["properties"]["amount"]
    for text in accepted:
        assert _documented(schema, text), text
        Amount(amount=text)
    for text in refused:
        assert not _documented(schema, text), text
        with pytest.raises(ValidationError):
            Amount(amount=text)


def test_a_refusal_echoes_only_a_short_prefix() -> None:
    with pytest.raises(MoneyFormatError) as raised:
        parse_eur("9" * 10_000 + "x")
    assert len(str(raised.value)) < 200


@given(st.integers(min_value=-(10**14) + 1, max_value=10**14 - 1))
def test_format_and_parse_round_trip(cents: int) -> None:
    assert parse_eur(format_eur(cents)) == cents


def test_a_json_number_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="decimal string"):
        Body.model_validate_json('{"amount": 12500.0}')


def test_serialises_back_to_a_string() -> None:
    assert Body(amount="12.5").model_dump(mode="json") == {"amount": "12.50"}


def test_positive_amounts_only() -> None:
    with pytest.raises(ValidationError):
        Body(amount="0.00")


def test_type_alias_is_an_int_in_code() -> None:
    class Any_(BaseModel):
        value: EurCents

    assert Any_(value="-1.00").value == -100
