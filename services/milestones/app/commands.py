"""The commands the milestones API accepts, already parsed (UTC times, Berlin calendar days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Actor:
    """Who asks: a principal's name, and whether they may act only on teams they coach."""

    name: str
    is_agent: bool


@dataclass(frozen=True)
class CompleteMilestone:
    milestone_id: str
    actor: Actor
    note: str | None = None
    evidence_url: str | None = None


@dataclass(frozen=True)
class ConfirmMilestone:
    milestone_id: str
    actor: Actor


@dataclass(frozen=True)
class ReopenMilestone:
    milestone_id: str
    reason: str
    actor: Actor


@dataclass(frozen=True)
class WaiveMilestone:
    milestone_id: str
    reason: str
    actor: Actor


@dataclass(frozen=True)
class RescheduleMilestone:
    milestone_id: str
    due_date: date
    reason: str
    actor: Actor
