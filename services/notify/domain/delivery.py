"""Delivery rules: which channels a notification takes, when each may go out, when to give up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.notify.domain.agents import STAFF, Agent
from services.notify.domain.quiet_hours import QuietHours

Channel = Literal["email", "webhook", "inbox"]
EMAIL: Channel = "email"
WEBHOOK: Channel = "webhook"
INBOX: Channel = "inbox"
CHANNELS: tuple[Channel, ...] = (EMAIL, WEBHOOK, INBOX)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class Route:
    """One way a notification reaches its recipient; ``target`` is an address or URL."""

    channel: Channel
    target: str | None


def routes_for(recipient: str, agent: Agent | None, staff_mailbox: str | None) -> list[Route]:
    """The in-app inbox always; email and webhook where the recipient has them.

    An agent without a profile yet still gets the inbox entry (nothing is lost); staff set
    their contacts with PUT /agents.
    """
    routes = [Route(INBOX, None)]
    if recipient == STAFF:
        if staff_mailbox:
            routes.append(Route(EMAIL, staff_mailbox))
    elif agent is not None:
        routes.append(Route(EMAIL, agent.email))
        if agent.webhook_url:
            routes.append(Route(WEBHOOK, agent.webhook_url))
    return routes


def due_at(channel: Channel, moment: datetime, quiet_hours: QuietHours | None) -> datetime:
    """When a channel may be used at ``moment``: quiet hours hold email and webhooks back."""
    if channel == INBOX or quiet_hours is None:
        return moment
    return quiet_hours.release_time(moment)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base * factor**(n-1)`` after the n-th failure, capped."""

    base_seconds: float
    factor: float
    max_seconds: float
    max_attempts: int

    def __post_init__(self) -> None:
        assert self.max_attempts >= 1
        assert self.base_seconds >= 0
        assert self.factor >= 1

    def delay(self, failures: int) -> timedelta:
        assert failures >= 1
        # Capping the exponent first keeps a long failure streak from overflowing a float.
        exponent = min(failures - 1, 64)
        return timedelta(seconds=min(self.base_seconds * self.factor**exponent, self.max_seconds))


@dataclass(frozen=True)
class Retry:
    at: datetime


@dataclass(frozen=True)
class GiveUp:
    reason: str


def after_failure(
    *,
    channel: Channel,
    attempts: int,
    permanent: bool,
    now: datetime,
    policy: RetryPolicy,
    quiet_hours: QuietHours | None,
) -> Retry | GiveUp:
    """What follows the ``attempts``-th failed attempt: another try later, or failure."""
    if permanent:
        return GiveUp("permanent error")
    if attempts >= policy.max_attempts:
        return GiveUp(f"{attempts} attempts failed")
    return Retry(due_at(channel, now + policy.delay(attempts), quiet_hours))
