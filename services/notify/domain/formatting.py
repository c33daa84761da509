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


# The programme's milestones (the keys of every call's phase plan) as each language names
# them. The German names are those of the programme's own plan; a call's plan may title its
# steps otherwise, but a mail names a milestone in the reader's language.
MILESTONE_NAMES: dict[str, dict[Language, str]] = {
    "kickoff": {"de": "Kick-off", "en": "Kick-off"},
    "workshop": {"de": "Co-Creation-Workshop", "en": "Co-creation workshop"},
    "prototype": {"de": "Prototyp", "en": "Prototype"},
    "test": {"de": "Test mit Nutzerinnen und Nutzern", "en": "Test with users"},
    "final": {
        "de": "Abschlusspräsentation und Blaupause",
        "en": "Final presentation and blueprint",
    },
}


def milestone_name(key: str, language: Language, title: str | None = None) -> str:
    """A milestone as a mail names it: the programme's name for ``key`` in ``language``; for a
    key the programme does not know, the title its call's plan gave it (or the key itself)."""
    names = MILESTONE_NAMES.get(key)
    if names is not None:
        return names[language]
    return title or key


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
