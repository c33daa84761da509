"""A local SMTP sink for ``make run``: each mail notify sends becomes a .eml file in var/mail/."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

log = logging.getLogger(__name__)

DEFAULT_PORT = 1025


class _SaveToDirectory:
    """aiosmtpd handler: writes each accepted message to ``directory`` and reports it."""

    def __init__(self, directory: Path, report: Callable[[str], None]) -> None:
        self.directory = directory
        self.report = report

    async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(content)
        subject = str(make_header(decode_header(message_from_bytes(content).get("Subject", ""))))
        self.report(f"mail to {', '.join(envelope.rcpt_tos)}: {subject!r} -> {path}")
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on ``host:port`` (plain, no auth) in a background thread."""

    def __init__(
        self,
        directory: Path,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory
        self.host = host
        self.port = port
        handler = _SaveToDirectory(directory, report or log.info)
        self._controller = Controller(handler, hostname=host, port=port)
        self._running = False

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._controller.stop()
            self._running = False

    @property
    def is_running(self) -> bool:
        return self._running
