"""The alerts' real receivers: an SMTP server and an HTTP webhook endpoint, recording all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from aiosmtpd.controller import Controller

from cimis_devtools.kafka_local import find_free_port

_HEADERS = BytesHeaderParser(policy=compat32)


@dataclass(frozen=True)
class Mail:
    message_id: str
    kind: str
    team_id: str
    to: tuple[str, ...]


class MailSink:
    """aiosmtpd in its own thread; every accepted message is kept (copies included)."""

    def __init__(self) -> None:
        self.port = find_free_port()
        self.mails: list[Mail] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        # Only three plain ASCII headers are wanted: the headers alone, without header objects
        # (the benchmark's sink shares the machine with the services it measures).
        message = _HEADERS.parsebytes(raw)
        self.mails.append(
            Mail(
                message_id=str(message["Message-ID"]),
                kind=str(message["X-CIMIS-Kind"]),
                team_id=str(message["X-CIMIS-Team-ID"]),
                to=tuple(envelope.rcpt_tos),
            )
        )
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass(frozen=True)
class Post:
    idempotency_key: str
    kind: str
    team_id: str
    recipient: str
    status: int


@dataclass
class WebhookSink:
    """An HTTP/1.1 endpoint that answers 503 to a seeded share of requests, else 200.

    The failures make notify retry, which is what at-least-once delivery has to survive.
    """

    seed: int
    failure_rate: float = 0.1
    posts: list[Post] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 (seeded for replays)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def delivered(self) -> list[Post]:
        return [p for p in self.posts if p.status == 200]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ValueError):
            while await reader.readline():
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))))
                status = 503 if self._rng.random() < self.failure_rate else 200
                self.posts.append(
                    Post(
                        idempotency_key=headers.get("idempotency-key", ""),
                        kind=str(body.get("kind")),
                        team_id=str(body.get("team_id")),
                        recipient=str(body.get("recipient")),
                        status=status,
                    )
                )
                phrase = "OK" if status == 200 else "Service Unavailable"
                writer.write(f"HTTP/1.1 {status} {phrase}\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        writer.close()
