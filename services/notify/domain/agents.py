"""A network agent as notify knows them: contacts, quiet hours, language and weekly digest."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from services.notify.domain.digest_schedule import DigestSchedule
from services.notify.domain.errors import NotifyRuleViolation
from services.notify.domain.formatting import DEFAULT_LANGUAGE, Language
from services.notify.domain.quiet_hours import QuietHours

# The programme office's mailbox is the recipient of what no agent owns; no agent may take
# its name, or their alerts and the office's would mix.
STAFF = "staff"


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    email: str
    webhook_url: str | None
    quiet_hours: QuietHours | None
    language: Language
    created_at: datetime
    updated_at: datetime
    # "Frau" or "Herr", for the greeting an office writes ("Guten Tag Frau Rösner,").
    salutation: str | None = None
    # Retired agents are kept for the history of their notifications; what would reach them
    # goes to the programme office instead, until staff reassign their teams.
    retired_at: datetime | None = None
    # When the weekly digest goes out; None: the agent gets none.
    digest: DigestSchedule | None = None

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


def define_agent(
    *,
    agent_id: str,
    name: str,
    email: str,
    webhook_url: str | None,
    quiet_hours: QuietHours | None,
    language: Language | None,
    existing: Agent | None,
    now: datetime,
    salutation: str | None = None,
    digest: DigestSchedule | None = None,
) -> Agent:
    """The agent's profile as staff set it now; a PUT replaces every field."""
    if agent_id.strip().lower() == STAFF:
        raise NotifyRuleViolation(
            "reserved-agent-id", f"'{STAFF}' names the programme office, not an agent."
        )
    if not name.strip():
        raise NotifyRuleViolation("invalid-agent", "An agent needs a name.")
    profile = Agent(
        id=agent_id,
        name=name.strip(),
        email=email.strip(),
        webhook_url=webhook_url,
        quiet_hours=quiet_hours,
        language=language or DEFAULT_LANGUAGE,
        created_at=existing.created_at if existing else now,
        updated_at=now,
        salutation=salutation,
        retired_at=existing.retired_at if existing else None,
        digest=digest,
    )
    if existing is not None and replace(existing, updated_at=now) == profile:
        return existing  # nothing changed: keep the old timestamp, write and audit nothing
    return profile


def retire(agent: Agent, *, now: datetime) -> Agent | None:
    """The agent leaves the programme; None when retired already."""
    if agent.retired:
        return None
    return replace(agent, retired_at=now, updated_at=now)
