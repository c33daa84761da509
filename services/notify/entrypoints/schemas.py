"""Notify's HTTP request and response bodies; times as RFC 3339 in UTC."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from cimis_chassis.text import AS_IDENT, EMAIL, NO_CONTROLS, refuse_controls
from services.notify.domain.agents import Agent
from services.notify.domain.notifications import Delivery, Notification, delivery_status

Email = Annotated[str, Field(max_length=320), EMAIL]
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["20:00"])]
# Ids compare in any case and Unicode form; path and query alike.
Id = Annotated[str, StringConstraints(min_length=1, max_length=100), AS_IDENT]
# An agent's id is their API key's principal name (principals have up to 200 characters).
AGENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]*$"
AgentId = Annotated[str, StringConstraints(min_length=1, max_length=200), AS_IDENT]
StatusFilter = Literal["unread", "read", "pending", "delivered", "failed"]


MAX_URL_CHARS = 2000


def _raw_url(value: Any) -> Any:
    # Checked before parsing: the URL parser would silently drop tabs and line breaks.
    if isinstance(value, str):
        if len(value) > MAX_URL_CHARS:
            raise ValueError(f"webhook_url is longer than {MAX_URL_CHARS} characters")
        refuse_controls(value)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuietHoursIn(Strict):
    """Europe/Berlin wall-clock times; a window may span midnight (20:00 to 07:00)."""

    start: ClockTime
    end: ClockTime


class DigestIn(Strict):
    """When the weekly digest goes out: a weekday and a Europe/Berlin wall-clock time."""

    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    time: ClockTime


def _default_digest() -> DigestIn:
    return DigestIn(weekday="monday", time="08:00")


class AgentIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=300), NO_CONTROLS]
    email: Email
    webhook_url: Annotated[AnyHttpUrl, BeforeValidator(_raw_url)] | None = None
    quiet_hours: QuietHoursIn | None = None
    language: Literal["de", "en"] | None = None
    salutation: Literal["Frau", "Herr"] | None = Field(
        default=None,
        description='For the greeting a programme office writes: "Guten Tag Frau Rösner,".',
    )
    digest: DigestIn | None = Field(
        default_factory=_default_digest,
        description="The weekly digest of the agent's teams (Europe/Berlin); left out: Monday "
        "08:00; null: no digest.",
    )

    @field_validator("webhook_url")
    @classmethod
    def _short_enough(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and len(str(value)) > MAX_URL_CHARS:
            raise ValueError(f"webhook_url is longer than {MAX_URL_CHARS} characters")
        return value


def _ts(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def agent_out(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "webhook_url": agent.webhook_url,
        "quiet_hours": agent.quiet_hours.describe() if agent.quiet_hours else None,
        "language": agent.language,
        "salutation": agent.salutation,
        "retired_at": _ts(agent.retired_at),
        "digest": agent.digest.describe() if agent.digest else None,
        "created_at": _ts(agent.created_at),
        "updated_at": _ts(agent.updated_at),
    }


def notification_out(
    notification: Notification, channels: Sequence[Delivery], *, show_errors: bool
) -> dict[str, Any]:
    """``agent_id`` is the recipient: an agent id, or ``staff`` for the programme office."""
    return {
        "id": notification.id,
        "agent_id": notification.recipient,
        "team_id": notification.team_id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "language": notification.language,
        "created_at": _ts(notification.created_at),
        "read_at": _ts(notification.read_at),
        "status": delivery_status([d.status for d in channels]),
        "channels": [_channel_out(d, show_errors=show_errors) for d in channels],
    }


def _channel_out(delivery: Delivery, *, show_errors: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "channel": delivery.channel,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": _ts(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "delivered_at": _ts(delivery.delivered_at),
        "failed_at": _ts(delivery.failed_at),
    }
    if show_errors:
        out["last_error"] = delivery.last_error
    return out
