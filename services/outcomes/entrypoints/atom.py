"""The published blueprints as an Atom feed (RFC 4287), newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, SubElement, tostring

from services.outcomes.domain.blueprints import Blueprint

ATOM = "http://www.w3.org/2005/Atom"
FEED_ID = "urn:cimis:outcomes:blueprints"


def atom_feed(blueprints: Sequence[Blueprint], *, base_url: str, now: datetime) -> bytes:
    feed = Element("feed", xmlns=ATOM)
    feed.set("xml:lang", "de")
    SubElement(feed, "id").text = FEED_ID
    SubElement(feed, "title").text = "CIMIS – Blaupausen-Katalog"
    updated = max((b.published_at for b in blueprints if b.published_at), default=now)
    SubElement(feed, "updated").text = _rfc3339(updated)
    SubElement(feed, "link", rel="self", href=f"{base_url}/public/blueprints.atom")
    SubElement(feed, "link", rel="alternate", type="text/html", href=f"{base_url}/katalog")
    author = SubElement(feed, "author")
    SubElement(author, "name").text = "CIMIS-Programmbüro"
    for blueprint in blueprints:
        assert blueprint.published_at is not None
        entry = SubElement(feed, "entry")
        SubElement(entry, "id").text = f"urn:uuid:{blueprint.id}"
        SubElement(entry, "title").text = blueprint.content.title
        SubElement(entry, "updated").text = _rfc3339(blueprint.published_at)
        SubElement(entry, "published").text = _rfc3339(blueprint.published_at)
        SubElement(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{base_url}/katalog/{blueprint.id}",
        )
        SubElement(entry, "summary").text = blueprint.content.problem
        SubElement(entry, "category", term=blueprint.content.sector)
        SubElement(entry, "rights").text = blueprint.content.licence
    document: bytes = tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
