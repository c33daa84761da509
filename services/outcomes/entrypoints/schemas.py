"""The outcomes HTTP request and response bodies; money as euro strings, times as RFC 3339."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cimis_chassis.money import format_eur
from cimis_chassis.text import AS_IDENT, LINE_BREAKS_ONLY, NO_CONTROLS
from services.outcomes.domain.blueprints import LICENCES, Blueprint, Contact, Content
from services.outcomes.domain.costs import cost_lines

Id = Annotated[str, StringConstraints(min_length=1, max_length=100), AS_IDENT]
Line = Annotated[str, Field(min_length=1, max_length=300), NO_CONTROLS]
Paragraphs = Annotated[str, Field(min_length=1, max_length=10_000), LINE_BREAKS_ONLY]
Reason = Annotated[str, Field(min_length=1, max_length=2000), LINE_BREAKS_ONLY]
Licence = Literal["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CC-BY-ND-4.0", "CC-BY-NC-4.0"]
assert set(Licence.__args__) == set(LICENCES)  # type: ignore[attr-defined]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactIn(Strict):
    name: Line
    role: Annotated[str, Field(max_length=300), NO_CONTROLS] = ""
    consent: bool = Field(description="Whether the person agreed to be named in the catalogue.")


class BlueprintIn(Strict):
    title: Line
    problem: Paragraphs
    solution: Paragraphs
    tools: list[Line] = Field(default_factory=list, max_length=30)
    lessons: Paragraphs
    sector: Annotated[str, Field(min_length=1, max_length=200), NO_CONTROLS]
    licence: Licence = Field(description="An open licence, as its SPDX identifier.")
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)

    def content(self) -> Content:
        return Content(
            title=self.title.strip(),
            problem=self.problem.strip(),
            solution=self.solution.strip(),
            tools=tuple(dict.fromkeys(t.strip() for t in self.tools if t.strip())),
            lessons=self.lessons.strip(),
            sector=self.sector.strip(),
            licence=self.licence,
            contacts=tuple(
                Contact(c.name.strip(), c.role.strip(), c.consent) for c in self.contacts
            ),
        )


class CommentIn(Strict):
    comment: Reason


class ReasonIn(Strict):
    reason: Reason


def ts(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def costs_out(approved: Mapping[str, int]) -> dict[str, Any]:
    lines = cost_lines(approved)
    return {
        "lines": [{"position": c.position, "amount": format_eur(c.approved_cents)} for c in lines],
        "total": format_eur(sum(c.approved_cents for c in lines)),
    }


def public_blueprint(blueprint: Blueprint, approved: Mapping[str, int]) -> dict[str, Any]:
    """What anyone may see: the content, the costs and only the consenting contacts."""
    content = blueprint.content
    return {
        "id": blueprint.id,
        "title": content.title,
        "problem": content.problem,
        "solution": content.solution,
        "tools": list(content.tools),
        "lessons": content.lessons,
        "sector": content.sector,
        "licence": content.licence,
        "district": blueprint.district,
        "district_code": blueprint.district_code,
        "costs": costs_out(approved),
        "contacts": [{"name": c.name, "role": c.role} for c in blueprint.public_contacts],
        "published_at": ts(blueprint.published_at),
    }


def blueprint_out(blueprint: Blueprint, approved: Mapping[str, int]) -> dict[str, Any]:
    """The whole blueprint, for the team's agent and staff."""
    return public_blueprint(blueprint, approved) | {
        "team_id": blueprint.team_id,
        "call_id": blueprint.call_id,
        "status": blueprint.status,
        "version": blueprint.version,
        "contacts": [
            {"name": c.name, "role": c.role, "consent": c.consent}
            for c in blueprint.content.contacts
        ],
        "submitted_by": blueprint.submitted_by,
        "submitted_at": ts(blueprint.submitted_at),
        "updated_at": ts(blueprint.updated_at),
        "review_comment": blueprint.review_comment,
        "withdrawn_at": ts(blueprint.withdrawn_at),
        "withdrawal_reason": blueprint.withdrawal_reason,
    }
