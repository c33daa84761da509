"""Identifiers compare in any case and Unicode form; control characters never get in."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from cimis_chassis.text import (
    EMAIL,
    IDENT_PATTERN,
    LINE_BREAKS_ONLY_PATTERN,
    NO_CONTROLS_PATTERN,
    clip,
    comparison_key,
    normalise_ident,
    refuse_controls,
    refuse_controls_but_line_breaks,
    same_ident,
)


@pytest.mark.parametrize(
    "spelling",
    [
        "RE-1",
        "re-1",
        "RE\u20101",  # hyphen
        "RE\u20111",  # non-breaking hyphen
        "RE\u20131",  # en dash
        "RE\u22121",  # minus sign
        "RE\ufe631",  # small hyphen-minus
        "RE-\u200b1",  # zero-width space
        "R\u00adE-1",  # soft hyphen
        "\ufeffRE-1",  # byte order mark
        "ＲＥ－１",  # full-width
        " RE-1 ",
    ],
)
def test_spellings_of_one_receipt_number_share_a_key(spelling: str) -> None:
    assert comparison_key(spelling) == "re-1"


def test_composed_and_decomposed_umlauts_and_sharp_s_compare_equal() -> None:
    assert comparison_key("Görlitz") == comparison_key(unicodedata.normalize("NFD", "GÖRLITZ"))
    assert comparison_key("Meißen") == comparison_key("MEISSEN")


def test_different_numbers_keep_different_keys() -> None:
    assert comparison_key("RE-1") != comparison_key("RE-11")
    assert comparison_key("RE 1") != comparison_key("RE-1")


@given(st.text(max_size=40))
def test_the_key_is_stable(text: str) -> None:
    key = comparison_key(text)
    assert comparison_key(key) == key


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800", "\n", "\t"])
def test_control_characters_and_lone_surrogates_are_refused_in_a_line(char: str) -> None:
    with pytest.raises(ValueError, match="must not contain"):
        refuse_controls(f"a{char}b")


def test_a_paragraph_keeps_line_breaks_and_tabs_but_not_nul() -> None:
    assert refuse_controls_but_line_breaks("a\r\nb\tc") == "a\r\nb\tc"
    with pytest.raises(ValueError, match="U\\+0000"):
        refuse_controls_but_line_breaks("a\x00b")


def test_ordinary_text_passes_unchanged() -> None:
    text = "Agentur Erzgebirge GmbH – Nutzerinterviews 😀 ‐ \u200b"
    assert refuse_controls(text) == text


def test_an_id_is_stored_as_its_key() -> None:
    assert normalise_ident("AGENT\u2010Anna") == "agent-anna"
    assert same_ident("Agent-Anna", "agent\u2011anna")
    with pytest.raises(ValueError, match="empty"):
        normalise_ident("\u200b")
    with pytest.raises(ValueError, match="control"):
        normalise_ident("a\x00")
    with pytest.raises(ValueError, match="once normalised"):
        normalise_ident("\ufdfa" * 12)  # 12 characters, 216 once NFKC spells them out


def test_clip_bounds_what_is_echoed() -> None:
    assert clip("kurz") == "kurz"
    assert clip("x" * 10_000) == "x" * 60 + "…"


def ecma_search(pattern: str, text: str) -> re.Match[str] | None:
    """``re.search`` with JSON Schema's (ECMA-262) ``$``: the end of the text, whereas
    Python's also matches before a final line break ("0\\n" would pass)."""
    return re.search(re.sub(r"(?<!\\)\$", r"\\Z", pattern), text)


# Text without lone surrogates: what JSON from a generator (or any UTF-8 client) can carry.
_ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(_ANY_TEXT)
def test_the_documented_patterns_refuse_what_the_validators_refuse(text: str) -> None:
    for pattern, check in (
        (NO_CONTROLS_PATTERN, refuse_controls),
        (LINE_BREAKS_ONLY_PATTERN, refuse_controls_but_line_breaks),
    ):
        try:
            check(text)
        except ValueError:
            assert ecma_search(pattern, text) is None, (pattern, text)
        else:
            assert ecma_search(pattern, text) is not None, (pattern, text)


@given(_ANY_TEXT)
def test_an_id_matching_its_documented_pattern_is_taken_unless_only_format_characters(
    text: str,
) -> None:
    # The pattern cannot see what normalising removes (zero-width and other format
    # characters): an id of only those is documented in the field's description instead.
    if ecma_search(IDENT_PATTERN, text) is None:
        with pytest.raises(ValueError, match=r"control|empty"):
            normalise_ident(text)
    elif (
        any(unicodedata.category(c) != "Cf" and not c.isspace() for c in text)
        and len(comparison_key(text)) <= 200
    ):
        assert normalise_ident(text) == comparison_key(text)


def test_a_shaped_field_states_one_pattern_that_keeps_out_control_characters() -> None:
    class Contact(BaseModel):
        email: Annotated[str, EMAIL]

    schema = Contact.model_json_schema()["properties"]["email"]
    assert "allOf" not in schema
    assert re.search(schema["pattern"], "anna@example.org")
    for spoiled in ("an\x00na@example.org", "anna@exa\x85mple.org", "anna@example"):
        assert re.search(schema["pattern"], spoiled) is None
        with pytest.raises(ValueError, match=r"control character|e-mail address"):
            Contact(email=spoiled)
