"""Keyset pages in SQL: where a list page starts, and the query that reads just that page.

The HTTP side (cursor encoding, the ``limit`` and ``cursor`` parameters) is
:mod:`cimis_chassis.pagination`; this is what a repository does with the position.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_

from cimis_chassis.pagination import decode_cursor

K = TypeVar("K", bound=date)


@dataclass(frozen=True)
class Page(Generic[K]):
    """At most ``limit`` items after ``after``, the (sort key, id) of the last item seen."""

    after: tuple[K, str] | None
    limit: int


def page_from(limit: int, cursor: str | None) -> Page[datetime]:
    """The page a list endpoint's ``limit`` and ``cursor`` ask for; no cursor: the first."""
    # An empty cursor is the first page too, as a client that echoes a null cursor sends it.
    return Page(after=decode_cursor(cursor) if cursor else None, limit=limit)


def keyset_page(
    query: Select[Any], sort_key: ColumnElement[Any], ident: ColumnElement[Any], page: Page[Any]
) -> Select[Any]:
    """``query`` in (sort key, id) order, from just after ``page.after``, ``page.limit`` rows.

    The id breaks ties, so items sharing a sort key are neither skipped nor repeated.
    """
    if page.after is not None:
        at, last_id = page.after
        query = query.where(or_(sort_key > at, and_(sort_key == at, ident > last_id)))
    return query.order_by(sort_key, ident).limit(page.limit)
