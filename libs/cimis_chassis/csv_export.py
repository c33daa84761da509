"""CSV downloads as spreadsheets read them safely: separators, decimal marks, inert cells.

German spreadsheets want ``;`` between fields and a decimal comma. Text typed by people or
carried by events goes through ``inert``: a spreadsheet would run a cell starting with ``=``,
``+``, ``-`` or ``@`` as a formula (CSV injection). Amounts the service formats itself stay
as they are, so a negative amount is still a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from cimis_chassis.money import format_eur

Separator = Literal[",", ";"]
DecimalMark = Literal["point", "comma"]

# OWASP's list: formula starters, plus tab and carriage return, which some programs skip.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """``text`` as a cell no spreadsheet evaluates: a leading formula character gets a ``'``."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def money_text(cents: int, decimal: DecimalMark) -> str:
    text = format_eur(cents)
    return text.replace(".", ",") if decimal == "comma" else text


def render_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], sep: Separator) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
