"""Keyset pagination for list endpoints: opaque cursors, bounded limits."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Query

from cimis_chassis.problems import Problem

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="Page size, 1 to 200")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


def encode_cursor(created_at: datetime, ident: str) -> str:
    raw = json.dumps([created_at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, ident = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created_at), str(ident)
    except (ValueError, TypeError) as exc:
        raise Problem(400, "invalid-cursor", "The cursor is not one this API issued.") from exc


def next_cursor(
    items: Sequence[T], limit: int, key: Callable[[T], tuple[datetime, str]]
) -> str | None:
    """The cursor of the page after ``items``, or None when this page was the last."""
    if len(items) < limit:
        return None
    return encode_cursor(*key(items[-1]))
