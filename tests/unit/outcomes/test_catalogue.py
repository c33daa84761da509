"""The public catalogue's search: words, district, sector and tool, in any spelling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.outcomes.domain import blueprints as rules
from services.outcomes.domain.blueprints import Blueprint
from services.outcomes.domain.catalogue import Search, found
from services.outcomes.domain.costs import cost_lines
from tests.unit.outcomes.builders import NOW, a_team, content


def published(ident: str, days: int = 0, **overrides: object) -> Blueprint:
    draft = rules.submit(
        a_team(id=f"team-{ident}", **overrides.pop("team", {})),  # type: ignore[arg-type]
        None,
        content(**overrides),
        blueprint_id=ident,
        by="agent-anna",
        now=NOW,
    )
    return rules.publish(draft, now=NOW + timedelta(days=days))


WERKSTATT = published("werkstatt", days=1)
GALERIE = published(
    "galerie",
    days=2,
    title="Digitale Führungen",
    problem="Besucher fanden die Ausstellung nicht.",
    solution="Audioguide im Browser.",
    tools=("WordPress",),
    sector="Kultur",
    team={"district": "Görlitz", "district_code": "14626"},
)
DRAFT = rules.submit(a_team(id="team-d"), None, content(), blueprint_id="d", by="x", now=NOW)
ALL = [WERKSTATT, GALERIE, DRAFT]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (Search(), ["galerie", "werkstatt"]),
        (Search(words="terminbuchung werkstatt"), ["werkstatt"]),
        (Search(words="TERMINBUCHUNG Galerie"), []),
        (Search(district="goerlitz"), []),
        (Search(district="GÖRLITZ"), ["galerie"]),
        (Search(district="Go\u0308rlitz"), ["galerie"]),  # a decomposed umlaut
        (Search(district="14521"), ["werkstatt"]),
        (Search(sector="handwerk"), ["werkstatt"]),
        (Search(tool="wordpress"), ["galerie"]),
        (Search(tool="Word"), []),
        (Search(words="audioguide", sector="Kultur", district="14626"), ["galerie"]),
    ],
)
def test_only_published_matches_newest_first(search: Search, expected: list[str]) -> None:
    assert [b.id for b in found(ALL, search)] == expected


def test_a_withdrawn_blueprint_is_gone() -> None:
    gone = rules.withdraw(GALERIE, reason="x", now=NOW + timedelta(days=3))
    assert [b.id for b in found([WERKSTATT, gone], Search())] == ["werkstatt"]


def test_costs_are_listed_by_budget_line_in_cost_plan_order_without_empty_lines() -> None:
    lines = cost_lines({"travel": 120_00, "personnel": 9_000_00, "material": 0, "other": 5})
    assert [(c.position, c.approved_cents) for c in lines] == [
        ("personnel", 9_000_00),
        ("travel", 120_00),
        ("other", 5),
    ]
