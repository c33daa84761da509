"""What outcomes knows of a team, from the platform's events: whose it is, where, how far."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

RUNNING, COMPLETED, CANCELLED = "running", "completed", "cancelled"


@dataclass(frozen=True)
class TeamRecord:
    id: str
    call_id: str
    title: str
    agent_id: str  # as its comparison key, like every service keeps it
    accepted_at: datetime
    district: str | None = None
    district_code: str | None = None
    # From milestones: a blueprint may be submitted once the plan is complete.
    plan_status: str = RUNNING
    withdrawn_at: datetime | None = None
