"""Keyset pagination for list endpoints: opaque cursors, bounded limits.

A cursor comes back from the client, so it is input like any other: whatever it decodes to,
a value that is not exactly what this module issued is a 400 ``invalid-cursor``, never a
query the database chokes on.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import Query

from cimis_chassis.problems import Problem
from cimis_chassis.text import refuse_controls

T = TypeVar("T")

# What encode_cursor issues stays below these (an id of 200 characters of four UTF-8 bytes
# each, base64-encoded); anything longer was not issued here.
MAX_IDENT_CHARS = 200
MAX_CURSOR_CHARS = 1200
# A position is a BIGINT: at most 2**63 - 1, written in ASCII digits only.
_POSITION = re.compile(r"[1-9][0-9]{0,18}", re.ASCII)
MAX_POSITION = 2**63 - 1
MAX_POSITION_CHARS = 19

_CURSOR_HELP = (
    "next_cursor of the previous page; absent or empty: the first page. A cursor this API "
    "did not issue is a 400 problem `invalid-cursor`."
)
Limit = Annotated[int, Query(ge=1, le=200, description="Page size, 1 to 200")]
# The shape is documented, not enforced here: a cursor out of shape is the same 400
# invalid-cursor as any other that was not issued, never a 422 about a query parameter.
Cursor = Annotated[
    str | None,
    Query(
        description=_CURSOR_HELP,
        json_schema_extra={"maxLength": MAX_CURSOR_CHARS, "pattern": "^[A-Za-z0-9_-]*$"},
    ),
]
"""A keyset cursor (base64url, unpadded), as :func:`encode_cursor` issues it."""
PositionCursor = Annotated[
    str | None,
    Query(
        description=_CURSOR_HELP,
        json_schema_extra={
            "maxLength": MAX_POSITION_CHARS,
            "pattern": f"^([1-9][0-9]{{0,{MAX_POSITION_CHARS - 1}}})?$",
        },
    ),
]
"""A log position cursor: a positive BIGINT in ASCII digits, see :func:`decode_position_cursor`."""


def _invalid() -> Problem:
    return Problem(400, "invalid-cursor", "The cursor is not one this API issued.")


def encode_cursor(created_at: datetime, ident: str) -> str:
    # UTF-8 rather than \u escapes: an id of letters beyond the BMP would otherwise take
    # twelve characters a letter and outgrow MAX_CURSOR_CHARS.
    raw = json.dumps([created_at.isoformat(), ident], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decoded(cursor: str) -> object:
    if len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
        raise _invalid()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:
        raise _invalid() from exc


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (timestamp, id) key of the last item seen; 400 ``invalid-cursor`` for anything else.

    The timestamp must carry a time zone and be representable in UTC; the id must be a
    string without control characters; nothing else may be in the list.
    """
    value = _decoded(cursor)
    if not isinstance(value, list) or len(value) != 2:
        raise _invalid()
    moment, ident = value
    if not isinstance(moment, str) or not isinstance(ident, str):
        raise _invalid()
    if not ident or len(ident) > MAX_IDENT_CHARS:
        raise _invalid()
    try:
        refuse_controls(ident)
        created_at = datetime.fromisoformat(moment)
        if created_at.tzinfo is None:
            raise _invalid()
        return created_at.astimezone(UTC), ident
    except (ValueError, OverflowError) as exc:
        raise _invalid() from exc


def decode_position_cursor(cursor: str) -> int:
    """A cursor that is a log position (a positive BIGINT in ASCII digits), else a 400."""
    if not _POSITION.fullmatch(cursor):
        raise _invalid()
    position = int(cursor)
    if position > MAX_POSITION:
        raise _invalid()
    return position


def next_cursor(
    items: Sequence[T], limit: int, key: Callable[[T], tuple[datetime, str]]
) -> str | None:
    """The cursor of the page after ``items``, or None when this page was the last."""
    if len(items) < limit:
        return None
    return encode_cursor(*key(items[-1]))
