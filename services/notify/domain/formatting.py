"""How amounts and times read in an alert: EUR and Europe/Berlin, in German or English."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cimis_chassis.localised import LANGUAGES as LANGUAGES
from cimis_chassis.localised import Language as Language
from cimis_chassis.localised import format_day as format_day
from cimis_chassis.localised import format_eur as format_eur

DEFAULT_LANGUAGE: Language = "de"
BERLIN = ZoneInfo("Europe/Berlin")


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
