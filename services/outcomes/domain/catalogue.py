"""The public catalogue's search: published blueprints by words, district, sector and tool.

Every comparison ignores case and Unicode form, as people type ("görlitz", "GÖRLITZ").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cimis_chassis.text import comparison_key
from services.outcomes.domain.blueprints import PUBLISHED, Blueprint


@dataclass(frozen=True)
class Search:
    words: str | None = None
    district: str | None = None  # a name or an official key ("14521")
    sector: str | None = None
    tool: str | None = None


def found(blueprints: Iterable[Blueprint], search: Search) -> list[Blueprint]:
    """The published blueprints that match, the most recently published first."""
    hits = [b for b in blueprints if b.status == PUBLISHED and matches(b, search)]
    return sorted(hits, key=lambda b: (b.published_at, b.id), reverse=True)


def matches(blueprint: Blueprint, search: Search) -> bool:
    content = blueprint.content
    if search.district and comparison_key(search.district) not in {
        comparison_key(d) for d in (blueprint.district, blueprint.district_code) if d
    }:
        return False
    if search.sector and comparison_key(search.sector) != comparison_key(content.sector):
        return False
    if search.tool and comparison_key(search.tool) not in {
        comparison_key(t) for t in content.tools
    }:
        return False
    if search.words:
        text = comparison_key(
            " ".join(
                (
                    content.title,
                    content.problem,
                    content.solution,
                    content.lessons,
                    content.sector,
                    *content.tools,
                    blueprint.district or "",
                )
            )
        )
        return all(word in text for word in comparison_key(search.words).split())
    return True
