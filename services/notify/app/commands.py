"""The commands notify's API accepts, already parsed into domain values."""

from __future__ import annotations

from dataclasses import dataclass

from services.notify.domain.digest_schedule import DigestSchedule
from services.notify.domain.formatting import Language
from services.notify.domain.quiet_hours import QuietHours


@dataclass(frozen=True)
class PutAgent:
    agent_id: str
    name: str
    email: str
    webhook_url: str | None
    quiet_hours: QuietHours | None
    language: Language | None
    salutation: str | None = None
    digest: DigestSchedule | None = None


@dataclass(frozen=True)
class MarkRead:
    notification_id: str
    acting_for: str | None  # the recipient the principal speaks for; None for an admin
