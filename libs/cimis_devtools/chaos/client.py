"""An admin-API client that outlasts kills: retries with the same Idempotency-Key until answered."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from cimis_devtools.processes import ServiceProcess

COMMAND_DEADLINE_SECONDS = 300.0


class CommandFailed(RuntimeError):
    """A command got an answer that no retry can change: the workload or the service is wrong."""


@dataclass
class Tally:
    commands: int = 0
    retries: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Api:
    """Sends each request to a running instance of the service, retrying what a crash explains.

    Retried: connection errors and timeouts, 5xx, a concurrent use of the same key (409
    idempotency-key-in-use), and the ``wait_on`` answers the caller names (a status such as a
    budget that is not there yet, or a problem type such as an agent intake has not learned
    yet). Every other answer outside ``ok`` is a CommandFailed.
    """

    def __init__(
        self,
        instances: Callable[[str], list[ServiceProcess]],
        tokens: dict[str, str],
        seed: int,
    ) -> None:
        self._instances = instances
        self._tokens = tokens
        # Seeded for replays, not for secrecy.
        self._rng = random.Random(seed)  # noqa: S311
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
        self.tally = Tally()
        self.on_command: Callable[[], Awaitable[None]] | None = None

    async def close(self) -> None:
        await self._client.aclose()

    async def command(
        self,
        service: str,
        method: str,
        path: str,
        *,
        principal: str,
        body: Any = None,
        key: str | None = None,
        ok: tuple[int, ...] = (200, 201),
        wait_on: tuple[int | str, ...] = (),
    ) -> dict[str, Any]:
        """One logical command (counted once, however often it is sent)."""
        self.tally.commands += 1
        if self.on_command is not None:
            await self.on_command()
        return await self.request(
            service, method, path, principal=principal, body=body, key=key, ok=ok, wait_on=wait_on
        )

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        principal: str,
        body: Any = None,
        key: str | None = None,
        ok: tuple[int, ...] = (200, 201),
        wait_on: tuple[int | str, ...] = (),
        deadline_seconds: float = COMMAND_DEADLINE_SECONDS,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._tokens[principal]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + deadline_seconds
        delay = 0.1
        last = "no instance running"
        while True:
            running = self._instances(service)
            if running:
                target = self._rng.choice(running)
                try:
                    response = await self._client.request(
                        method, target.base_url + path, json=body, headers=headers
                    )
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code in ok:
                        answer: dict[str, Any] = response.json()
                        return answer
                    last = f"{response.status_code} {response.text[:300]}"
                    if response.status_code == 429:
                        last += f" retry-after={response.headers.get('Retry-After', '1')}"
                    if not _retryable(response, wait_on):
                        raise CommandFailed(f"{method} {service}{path}: {last}")
                    status = str(response.status_code)
                    self.tally.by_status[status] = self.tally.by_status.get(status, 0) + 1
            if time.monotonic() >= deadline:
                raise CommandFailed(f"{method} {service}{path}: gave up after retries: {last}")
            self.tally.retries += 1
            await asyncio.sleep(max(delay, _retry_after(last)))
            delay = min(delay * 1.5, 2.0)


def _retryable(response: httpx.Response, wait_on: tuple[int | str, ...]) -> bool:
    status = response.status_code
    if status >= 500 or status == 429 or status in wait_on:
        return True
    if status in (409, 422):
        try:
            kind = str(response.json().get("type", ""))
        except ValueError:
            return False
        waited = ("idempotency-key-in-use", *(w for w in wait_on if isinstance(w, str)))
        return kind.rsplit(":", 1)[-1] in waited  # urn:cimis:problem:<slug>
    return False


def _retry_after(last: str) -> float:
    """The seconds a 429 asked us to wait (capped), else 0."""
    _, found, value = last.rpartition(" retry-after=")
    if not found:
        return 0.0
    try:
        return min(float(value), 10.0)
    except ValueError:
        return 1.0
