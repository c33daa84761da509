"""Posts a notification as JSON to a chat webhook (Matrix, Mattermost or Slack bridges)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from services.notify.adapters.channels import DeliveryError, OutgoingMessage

# Statuses worth retrying although they are 4xx: timeout, too early, rate limited.
_RETRYABLE_4XX = frozenset({408, 425, 429})


def payload(message: OutgoingMessage) -> dict[str, Any]:
    """``text`` is what Slack, Mattermost and Matrix hookshots show; the rest is for bots."""
    return {
        "text": f"{message.title}\n\n{message.body}",
        "notification_id": message.notification_id,
        "kind": message.kind,
        "recipient": message.recipient,
        "team_id": message.team_id,
        "title": message.title,
        "body": message.body,
        "language": message.language,
        "created_at": message.created_at.isoformat().replace("+00:00", "Z"),
    }


class WebhookSender:
    def __init__(self, *, timeout_seconds: float) -> None:
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": "cimis-notify/1.0"},
        )

    async def send(self, message: OutgoingMessage) -> None:
        where = _host_of(message.target)
        try:
            response = await self._client.post(
                message.target,
                json=payload(message),
                # Receivers that dedupe can drop the copy an at-least-once resend makes.
                headers={"Idempotency-Key": message.notification_id},
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"webhook {where}: {exc.__class__.__name__}", permanent=False
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        permanent = 300 <= status < 500 and status not in _RETRYABLE_4XX
        raise DeliveryError(f"HTTP {status} from webhook {where}", permanent=permanent)

    async def close(self) -> None:
        await self._client.aclose()


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")
