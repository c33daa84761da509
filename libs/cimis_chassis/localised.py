"""Amounts and calendar days as German and English readers expect them, for every service
that writes to people (notify's mails, outcomes' catalogue pages)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from cimis_chassis.money import german_amount

Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = ("de", "en")

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_eur(cents: int, language: Language) -> str:
    """``4500000`` reads ``45.000,00 €`` in German and ``EUR 45,000.00`` in English."""
    if language == "de":
        return f"{german_amount(cents)} €"
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"EUR {sign}{euros:,}.{rest:02d}"


def format_day(day: date, language: Language) -> str:
    """A calendar day: ``04.03.2025`` or ``4 March 2025``."""
    if language == "de":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def language_of(asked: Language | None, accept_language: str) -> Language:
    """The language a download speaks: as asked (``?lang=``), else German for a browser
    that prefers it (``Accept-Language: de…``), else English."""
    if asked is not None:
        return asked
    return "de" if accept_language.strip().lower().startswith("de") else "en"
