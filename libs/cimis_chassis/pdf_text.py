"""Text for PDFs set in the PDF core fonts (Helvetica) in Windows-1252: German as it is,
other letters without their accents, so a name never stops a document from being made."""

from __future__ import annotations

import unicodedata


def core_font_text(value: str) -> str:
    """``value`` as the core fonts can show it (a letter with no such form becomes "?")."""
    out = []
    for char in value:
        try:
            char.encode("windows-1252")
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("windows-1252", "ignore")
            out.append(base.decode("windows-1252") or "?")
    return "".join(out)
