"""Posts a notification as JSON to a chat webhook (Matrix, Mattermost or Slack bridges).

Right before each send the host is resolved and every address checked against the webhook
policy (DNS may have changed since the profile was saved); the connection then goes to a
checked address, with the URL's host kept in the Host header and for TLS (SNI, certificate).
Redirects are not followed. Failures are recorded by class only ("receiver unreachable"):
staff must not learn from ``last_error`` which internal ports are open.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from services.notify.adapters.channels import DeliveryError, OutgoingMessage
from services.notify.adapters.resolver import ResolutionFailed, Resolver, SystemResolver
from services.notify.domain.webhooks import (
    IPAddress,
    WebhookPolicy,
    WebhookRefused,
    WebhookTarget,
    check_addresses,
    target_of,
)
from services.notify.settings import WebhookSettings

# Statuses worth retrying although they are 4xx: timeout, too early, rate limited.
_RETRYABLE_4XX = frozenset({408, 425, 429})
# A host with many addresses is tried on a few; the send's deadline bounds them all anyway.
_MAX_ADDRESSES_TRIED = 3


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


def _url_to(url: httpx.URL, address: IPAddress) -> httpx.URL:
    return url.copy_with(host=str(address))


def _host_header(target: WebhookTarget, url: httpx.URL) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if url.port is None else f"{host}:{url.port}"


class WebhookSender:
    """Sends to webhooks the policy admits; without a policy, the one the environment sets."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        policy: WebhookPolicy | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self._timeout_seconds = timeout_seconds
        self._policy = policy if policy is not None else WebhookSettings().webhook_policy()
        self._resolver = resolver or SystemResolver()
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            # No proxies from the environment: the checked address is where the bytes go.
            trust_env=False,
            # No pooled connections: one opened for another host name on the same address
            # (and TLS-verified for that name) must never carry this request.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": "cimis-notify/1.0"},
        )

    async def send(self, message: OutgoingMessage) -> None:
        try:
            target = target_of(message.target)
        except WebhookRefused as exc:
            raise DeliveryError("webhook: address not allowed", permanent=True) from exc
        where = f"webhook {target.origin}"
        try:
            async with asyncio.timeout(self._timeout_seconds):
                addresses = await self._checked_addresses(target, where)
                response = await self._post(message, target, addresses)
        except (httpx.HTTPError, ResolutionFailed, TimeoutError, OSError) as exc:
            raise DeliveryError(f"{where}: receiver unreachable", permanent=False) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        permanent = 300 <= status < 500 and status not in _RETRYABLE_4XX
        # The receiver's own words stay out: only that it answered, and with which status.
        raise DeliveryError(f"HTTP {status} from {where}", permanent=permanent)

    async def _checked_addresses(self, target: WebhookTarget, where: str) -> list[IPAddress]:
        addresses = await self._resolver.resolve(target.host, target.port)
        try:
            check_addresses(target, addresses, self._policy)
        except WebhookRefused as exc:
            raise DeliveryError(f"{where}: address not allowed", permanent=True) from exc
        return addresses

    async def _post(
        self, message: OutgoingMessage, target: WebhookTarget, addresses: list[IPAddress]
    ) -> httpx.Response:
        url = httpx.URL(message.target)
        headers = {
            "Host": _host_header(target, url),
            # Receivers that dedupe can drop the copy an at-least-once resend makes.
            "Idempotency-Key": message.notification_id,
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        last_error: httpx.HTTPError | None = None
        for address in addresses[:_MAX_ADDRESSES_TRIED]:
            try:
                return await self._client.post(
                    _url_to(url, address),
                    json=payload(message),
                    headers=headers,
                    extensions=extensions,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing was sent: the next address may be reachable.
                last_error = exc
        assert last_error is not None
        raise last_error

    async def close(self) -> None:
        await self._client.aclose()
