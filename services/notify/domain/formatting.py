"""How amounts and times read in an alert: EUR and Europe/Berlin, in German or English."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from cimis_chassis.money import german_amount

Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = ("de", "en")
DEFAULT_LANGUAGE: Language = "de"
BERLIN = ZoneInfo("Europe/Berlin")

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


def format_moment(moment: datetime, language: Language) -> str:
    """An instant as the wall-clock time in Berlin: ``04.03.2025, 11:15 Uhr``."""
    local = moment.astimezone(BERLIN)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if language == "de":
        return f"{format_day(local.date(), language)}, {clock} Uhr"
    return f"{format_day(local.date(), language)}, {clock} (Berlin time)"


_TITLES = {"Frau": "Ms", "Herr": "Mr"}


def greeting(language: Language, name: str | None, salutation: str | None) -> str:
    """The first line as a programme office writes it: "Guten Tag Frau Rösner," with a
    salutation (and the surname), the name without one, and a neutral line for the office's
    own mailbox."""
    if name and salutation:
        surname = name.split()[-1]
        if language == "de":
            return f"Guten Tag {salutation} {surname},"
        return f"Dear {_TITLES.get(salutation, salutation)} {surname},"
    if name:
        return f"Guten Tag {name}," if language == "de" else f"Hello {name},"
    return "Guten Tag," if language == "de" else "Hello,"
