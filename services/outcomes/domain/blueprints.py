"""A team's blueprint (Blaupause): what it built, for others to reuse, and its review.

The team's agent (or staff) submits it once the team's plan is complete; staff ask for
changes, publish it into the public catalogue or withdraw it from there. A blueprint names
people only with their consent, and only published blueprints are ever public.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from services.outcomes.domain.errors import OutcomesRuleViolation, StateConflict
from services.outcomes.domain.teams import COMPLETED, TeamRecord

SUBMITTED, CHANGES_REQUESTED, PUBLISHED, WITHDRAWN = (
    "submitted",
    "changes_requested",
    "published",
    "withdrawn",
)

# SPDX identifiers of the open licences a publicly funded blueprint may carry.
LICENCES = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CC-BY-ND-4.0", "CC-BY-NC-4.0")


@dataclass(frozen=True)
class Contact:
    name: str
    role: str
    consent: bool  # to be named in the public catalogue


@dataclass(frozen=True)
class Content:
    """What the team writes; the rest of a blueprint comes from the platform's events."""

    title: str
    problem: str
    solution: str
    tools: tuple[str, ...]
    lessons: str
    sector: str
    licence: str
    contacts: tuple[Contact, ...]


@dataclass(frozen=True)
class Blueprint:
    id: str
    team_id: str
    call_id: str
    content: Content
    district: str | None
    district_code: str | None
    status: str
    version: int
    submitted_by: str
    submitted_at: datetime
    updated_at: datetime
    review_comment: str | None = None
    published_at: datetime | None = None
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None

    @property
    def public_contacts(self) -> tuple[Contact, ...]:
        """Only the people who agreed to be named."""
        return tuple(c for c in self.content.contacts if c.consent)


def submit(
    team: TeamRecord,
    existing: Blueprint | None,
    content: Content,
    *,
    blueprint_id: str,
    by: str,
    now: datetime,
) -> Blueprint:
    """The team's blueprint, new or resubmitted (after changes were asked, or to correct one
    under review or withdrawn); a published one stays as it is until staff withdraw it."""
    if team.withdrawn_at is not None or team.plan_status != COMPLETED:
        raise StateConflict(
            "plan-not-complete",
            "A blueprint follows the team's work: submit it once every milestone of the plan "
            "is completed or waived.",
        )
    _check(content)
    if existing is None:
        return Blueprint(
            id=blueprint_id,
            team_id=team.id,
            call_id=team.call_id,
            content=content,
            district=team.district,
            district_code=team.district_code,
            status=SUBMITTED,
            version=1,
            submitted_by=by,
            submitted_at=now,
            updated_at=now,
        )
    if existing.status == PUBLISHED:
        raise StateConflict(
            "blueprint-published",
            "The blueprint is published; staff withdraw it before it can be submitted again.",
        )
    return replace(
        existing,
        content=content,
        district=team.district,
        district_code=team.district_code,
        status=SUBMITTED,
        version=existing.version + 1,
        submitted_by=by,
        submitted_at=now,
        updated_at=now,
        review_comment=None,
        published_at=None,
        withdrawn_at=None,
        withdrawal_reason=None,
    )


def request_changes(blueprint: Blueprint, *, comment: str, now: datetime) -> Blueprint:
    _require_status(blueprint, SUBMITTED, "changes can only be asked of a submitted blueprint")
    return replace(
        blueprint,
        status=CHANGES_REQUESTED,
        review_comment=_given(comment, "Say what should change."),
        updated_at=now,
    )


def publish(blueprint: Blueprint, *, now: datetime) -> Blueprint:
    """Into the public catalogue; publishing a published blueprint changes nothing."""
    if blueprint.status == PUBLISHED:
        return blueprint
    _require_status(blueprint, SUBMITTED, "only a submitted blueprint can be published")
    return replace(blueprint, status=PUBLISHED, published_at=now, updated_at=now)


def withdraw(blueprint: Blueprint, *, reason: str, now: datetime) -> Blueprint:
    """Out of review or out of the catalogue; withdrawing again changes nothing."""
    if blueprint.status == WITHDRAWN:
        return blueprint
    return replace(
        blueprint,
        status=WITHDRAWN,
        withdrawn_at=now,
        withdrawal_reason=_given(reason, "Give a reason for the withdrawal."),
        updated_at=now,
    )


def public_count(steps: Iterable[tuple[str, str]]) -> int:
    """How many blueprints were public after ``steps`` (blueprint id, published or withdrawn;
    in time order): those whose last step was a publication."""
    last: dict[str, str] = {}
    for blueprint_id, step in steps:
        last[blueprint_id] = step
    return sum(step == PUBLISHED for step in last.values())


def _check(content: Content) -> None:
    for field, value in (
        ("title", content.title),
        ("problem", content.problem),
        ("solution", content.solution),
        ("lessons", content.lessons),
        ("sector", content.sector),
    ):
        if not value.strip():
            raise OutcomesRuleViolation("invalid-blueprint", f"The blueprint needs a {field}.")
    if content.licence not in LICENCES:
        raise OutcomesRuleViolation(
            "invalid-blueprint",
            f"Choose an open licence: {', '.join(LICENCES)}.",
        )
    if any(not c.name.strip() for c in content.contacts):
        raise OutcomesRuleViolation("invalid-blueprint", "A contact needs a name.")


def _require_status(blueprint: Blueprint, status: str, what: str) -> None:
    if blueprint.status != status:
        raise StateConflict(
            f"blueprint-{blueprint.status.replace('_', '-')}",
            f"The blueprint is {blueprint.status.replace('_', ' ')}: {what}.",
        )


def _given(text: str, missing: str) -> str:
    if not text.strip():
        raise OutcomesRuleViolation("invalid-review", missing)
    return text.strip()
