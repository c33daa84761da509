"""The commands outcomes' API accepts, already parsed into domain values."""

from __future__ import annotations

from dataclasses import dataclass

from services.outcomes.domain.blueprints import Content


@dataclass(frozen=True)
class Actor:
    name: str  # the principal, as its comparison key
    is_agent: bool


@dataclass(frozen=True)
class SubmitBlueprint:
    team_id: str
    content: Content
    actor: Actor


@dataclass(frozen=True)
class PublishBlueprint:
    blueprint_id: str
    by: str


@dataclass(frozen=True)
class RequestChanges:
    blueprint_id: str
    comment: str
    by: str


@dataclass(frozen=True)
class WithdrawBlueprint:
    blueprint_id: str
    reason: str
    by: str
