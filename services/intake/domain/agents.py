"""The network agents intake has heard of from notify: only they may be a team's agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cimis_chassis.text import clip
from services.intake.domain.errors import IntakeRuleViolation


@dataclass(frozen=True)
class KnownAgent:
    id: str  # as notify spells it; teams carry this spelling
    name: str
    updated_at: datetime
    retired_at: datetime | None = None


def assignable(agent_id: str, known: KnownAgent | None) -> KnownAgent:
    """The agent a team may be given, or the problem that says why not."""
    if known is None:
        raise IntakeRuleViolation(
            "unknown-agent",
            f"No network agent '{clip(agent_id)}' is registered; staff register agents in "
            "notify (PUT /api/v1/agents/{agent_id}) before naming them on a team.",
        )
    if known.retired_at is not None:
        raise IntakeRuleViolation(
            "unknown-agent",
            f"The network agent '{clip(known.id)}' has retired; choose an active agent.",
        )
    return known


def learned(
    current: KnownAgent | None,
    *,
    agent_id: str,
    name: str,
    at: datetime,
    retired: bool = False,
) -> KnownAgent | None:
    """The directory entry after one of notify's agent events; None when it changes nothing.

    An agent's events come in order (keyed by agent), but a redelivered older one must not
    undo a newer one, and retirement is for good.
    """
    if current is not None and at < current.updated_at:
        return None
    retired_at = current.retired_at if current is not None else None
    if retired and retired_at is None:
        retired_at = at
    new = KnownAgent(id=agent_id, name=name, updated_at=at, retired_at=retired_at)
    return None if new == current else new
