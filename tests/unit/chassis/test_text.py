"""Identifiers compare in any case and Unicode form; control characters never get in."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cimis_chassis.text import (
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
