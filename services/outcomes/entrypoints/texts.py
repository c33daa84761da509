"""The catalogue pages' words in German (the default) and English."""

from __future__ import annotations

from typing import Literal

Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = ("de", "en")

POSITION_NAMES: dict[Language, dict[str, str]] = {
    "de": {
        "personnel": "Personal",
        "material": "Sachmittel",
        "external_services": "Fremdleistungen",
        "travel": "Reisen",
        "other": "Sonstiges",
    },
    "en": {
        "personnel": "Personnel",
        "material": "Materials",
        "external_services": "External services",
        "travel": "Travel",
        "other": "Other",
    },
}

TEXTS: dict[Language, dict[str, str]] = {
    "de": {
        "catalogue": "Blaupausen-Katalog",
        "intro": "Was Teams aus Unternehmen und Kreativschaffenden in Sachsen entwickelt haben "
        "– als Blaupause für andere.",
        "skip": "Zum Inhalt springen",
        "search": "Suche",
        "words": "Suchbegriffe",
        "district": "Landkreis oder kreisfreie Stadt",
        "sector": "Branche",
        "tool": "Werkzeug",
        "any": "alle",
        "find": "Suchen",
        "found": "{count} Blaupausen gefunden",
        "none": "Keine Blaupause passt zu dieser Suche.",
        "problem": "Herausforderung",
        "solution": "Lösung",
        "tools": "Digitale Werkzeuge und Dienste",
        "lessons": "Was das Team gelernt hat",
        "costs": "Kosten",
        "position": "Position",
        "amount": "Betrag",
        "total": "Gesamt",
        "no_costs": "Noch keine anerkannten Ausgaben.",
        "contacts": "Ansprechpartner",
        "licence": "Lizenz",
        "published": "Veröffentlicht am",
        "back": "Zurück zum Katalog",
        "other_language": "English",
        "feed": "Atom-Feed der Blaupausen",
        "missing": "Blaupause nicht gefunden",
        "missing_detail": "Diese Blaupause gibt es im Katalog nicht (mehr).",
    },
    "en": {
        "catalogue": "Blueprint catalogue",
        "intro": "What teams of companies and creative professionals in Saxony developed – as "
        "a blueprint for others.",
        "skip": "Skip to content",
        "search": "Search",
        "words": "Search terms",
        "district": "District or city",
        "sector": "Sector",
        "tool": "Tool",
        "any": "any",
        "find": "Search",
        "found": "{count} blueprints found",
        "none": "No blueprint matches this search.",
        "problem": "Challenge",
        "solution": "Solution",
        "tools": "Digital tools and services",
        "lessons": "What the team learned",
        "costs": "Costs",
        "position": "Budget line",
        "amount": "Amount",
        "total": "Total",
        "no_costs": "No approved expenses yet.",
        "contacts": "Contacts",
        "licence": "Licence",
        "published": "Published on",
        "back": "Back to the catalogue",
        "other_language": "Deutsch",
        "feed": "Atom feed of the blueprints",
        "missing": "Blueprint not found",
        "missing_detail": "This blueprint is not (or no longer) in the catalogue.",
    },
}
