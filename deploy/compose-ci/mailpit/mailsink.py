"""The CI stand-in for Mailpit: an SMTP sink (aiosmtpd) and the part of Mailpit's HTTP API that
a test reads, kept in memory.

What it shares with Mailpit v1.21: SMTP on 1025 without TLS or login, and on 8025
``GET /api/v1/messages`` (newest first: ``total``, ``messages`` with ``ID``, ``MessageID``,
``From``, ``To``, ``Subject``, ``Created``, ``Size``, ``Snippet``), ``GET /api/v1/message/{ID}``
(adds ``Text`` and ``HTML``), ``DELETE /api/v1/messages`` and ``GET /livez`` / ``/readyz``.
What it lacks: the web UI, search, tags, attachments, persistence, POP3, relaying, chaos.
``MP_MAX_MESSAGES`` caps the messages kept, as in Mailpit. Both ports listen on
``MAILSINK_HOST`` (127.0.0.1: the CI stack runs on the host's network).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import uuid
from collections import deque
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

log = logging.getLogger("mailsink")


def _addresses(header: str | None) -> list[dict[str, str]]:
    return [{"Name": name, "Address": address} for name, address in getaddresses([header or ""])]


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return str(part.get_content()) if part is not None else ""


class MailStore:
    """The received messages, newest first, at most ``limit`` of them."""

    def __init__(self, limit: int) -> None:
        self._messages: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, raw: bytes) -> dict[str, Any]:
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        text = _body(message, "plain")
        summary = {
            "ID": uuid.uuid4().hex,
            "MessageID": str(message.get("Message-ID", "")).strip("<>"),
            "From": (_addresses(message.get("From")) or [{"Name": "", "Address": ""}])[0],
            "To": _addresses(message.get("To")),
            "Cc": _addresses(message.get("Cc")),
            "Subject": str(message.get("Subject", "")),
            "Created": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "Size": len(raw),
            "Snippet": " ".join(text.split())[:250],
            "Read": False,
        }
        with self._lock:
            self._messages.appendleft({**summary, "Text": text, "HTML": _body(message, "html")})
        return summary

    def summaries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {k: v for k, v in m.items() if k not in ("Text", "HTML")} for m in self._messages
            ]

    def get(self, message_id: str) -> dict[str, Any] | None:
        with self._lock:
            return next((dict(m) for m in self._messages if m["ID"] == message_id), None)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class _SmtpHandler:
    """aiosmtpd handler: every message is accepted and stored."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        summary = self.store.add(raw.encode("utf-8") if isinstance(raw, str) else raw)
        log.info("mail to %s: %r", ", ".join(envelope.rcpt_tos), summary["Subject"])
        return "250 Message accepted for delivery"


def _api_handler(store: MailStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/livez", "/readyz"):
                self._send(200, "ok")
            elif path == "/api/v1/messages":
                messages = store.summaries()
                total = len(messages)
                self._send(
                    200,
                    {
                        "total": total,
                        "count": total,
                        "start": 0,
                        "unread": total,
                        "messages": messages,
                    },
                )
            elif path.startswith("/api/v1/message/"):
                message = store.get(path.rsplit("/", 1)[-1])
                if message is None:
                    self._send(404, "not found")
                else:
                    self._send(200, message)
            else:
                self._send(404, "not found")

        def do_DELETE(self) -> None:
            if self.path.split("?", 1)[0] == "/api/v1/messages":
                store.clear()
                self._send(200, "ok")
            else:
                self._send(404, "not found")

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    return Handler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # aiosmtpd logs every connection at INFO, its own start-up probe included.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    host = os.environ.get("MAILSINK_HOST", "127.0.0.1")
    store = MailStore(int(os.environ.get("MP_MAX_MESSAGES", "500")))
    smtp = Controller(_SmtpHandler(store), hostname=host, port=1025)
    api = ThreadingHTTPServer((host, 8025), _api_handler(store))

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() in the main thread, so it runs on another.
        threading.Thread(target=api.shutdown, daemon=True).start()

    # As PID 1 a process gets no default action for SIGTERM: without this, `stop` waits out
    # its timeout and kills.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    smtp.start()
    log.info("SMTP on %s:1025, API on %s:8025", host, host)
    try:
        api.serve_forever()
    finally:
        smtp.stop()
        api.server_close()
        log.info("stopped")


if __name__ == "__main__":
    main()
