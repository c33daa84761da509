"""Sends a notification as a plain-text email over SMTP (aiosmtplib), on kept-open connections.

A connection per message costs the server a TCP and ESMTP handshake (and TLS, where it is on)
and us a host-name lookup for EHLO each time; under load that was most of notify's CPU. So
connections are kept and reused, at most one message on each at a time. One that failed in
any way is dropped rather than reused: its state is unknown, and the failed message is retried
like any other transient failure. One idle for a moment is probed with NOOP before use, so a
server restart or an idle timeout costs a redial rather than a failed attempt; one idle for
long is closed and dialled again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.policy import SMTPUTF8, compat32
from email.utils import format_datetime, formataddr, parseaddr

import aiosmtplib

from services.notify.adapters.channels import DeliveryError, OutgoingMessage
from services.notify.settings import NotifySettings

# UTF-8 in quoted-printable, body and headers: readable in the raw mail, 7-bit on the wire.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_UTF8.header_encoding = QP

# Under load a connection comes back within milliseconds and is reused as it is; after a pause
# it is probed first; after a longer one it is closed (servers drop idle clients after a
# minute or more, RFC 5321 asks for five) and a new one is dialled.
PROBE_AFTER_SECONDS = 1.0
IDLE_REUSE_SECONDS = 30.0


class SmtpSender:
    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        # As many as the delivery worker sends at once (its concurrency), and no more.
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._local_hostname: str | None = None
        name, self._envelope_from = parseaddr(settings.smtp_from)
        # The display name may hold umlauts ("Programmbüro"): encoded once, as RFC 2047 asks.
        self._from_header = formataddr((name, self._envelope_from), "utf-8")

    def compose(self, message: OutgoingMessage) -> Message[str, str | Header]:
        """The mail as the agent receives it: UTF-8 text, quoted-printable, our headers.

        Built with the classic email API: the modern one parses every header it is given and
        cost more CPU than everything else notify does per alert. Addresses with non-ASCII
        characters need SMTPUTF8 and take the modern policy, which writes them as they are.
        """
        international = not message.target.isascii()
        mail: Message[str, str | Header] = Message(policy=SMTPUTF8 if international else compat32)
        mail["MIME-Version"] = "1.0"
        # Sets Content-Type (text/plain, charset) and Content-Transfer-Encoding with it.
        mail.set_payload(message.body, _UTF8)
        headers = {
            "From": self._settings.smtp_from,
            "To": message.target,
            "Subject": message.title,
            "Date": format_datetime(message.sent_at),
            # A stable Message-ID: a resend after a crash (at-least-once) is recognisably the
            # same message, and mail clients may fold the copies.
            "Message-ID": f"<{message.notification_id}@notify.cimis>",
            "Content-Language": message.language,
            "X-CIMIS-Notification-ID": message.notification_id,
            "X-CIMIS-Kind": message.kind,
            "X-CIMIS-Team-ID": message.team_id,
            "Auto-Submitted": "auto-generated",
        }
        for name, value in headers.items():
            if value is None:
                continue
            if name == "From" and not international:
                mail[name] = self._from_header
            elif value.isascii() or international:
                mail[name] = value
            else:
                mail[name] = Header(value, _UTF8)
        return mail

    async def send(self, message: OutgoingMessage) -> None:
        s = self._settings
        mail = self.compose(message)
        options = ["SMTPUTF8"] if not message.target.isascii() else None
        client: aiosmtplib.SMTP | None = None
        sent = False
        try:
            client = await self._connection()
            await client.sendmail(
                self._envelope_from, [message.target], mail.as_bytes(), mail_options=options
            )
            sent = True
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPRecipientRefused) as exc:
            raise DeliveryError(f"SMTP refused the recipient: {exc}", permanent=True) from exc
        except aiosmtplib.SMTPDataError as exc:
            # 5xx on the message itself is final; 4xx asks us to come back later.
            raise DeliveryError(
                f"SMTP rejected the message: {exc.code} {exc.message}", permanent=exc.code >= 500
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Connection, TLS, authentication or sender trouble: the server or our settings,
            # which an operator can fix while we keep retrying.
            raise DeliveryError(
                f"SMTP {s.smtp_host}:{s.smtp_port}: {exc.__class__.__name__}: {exc}",
                permanent=False,
            ) from exc
        finally:
            if client is not None:
                if sent:
                    self._idle.append((client, time.monotonic()))
                else:
                    _drop(client)

    async def _connection(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, since = self._idle.pop()
            idle = time.monotonic() - since
            fresh = client.is_connected and idle < IDLE_REUSE_SECONDS
            if fresh and (idle < PROBE_AFTER_SECONDS or await _answers(client)):
                return client
            await _quit(client)
        s = self._settings
        if self._local_hostname is None:
            # Looked up once: aiosmtplib would resolve it again for every connection's EHLO.
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            use_tls=s.smtp_security == "tls",
            # False, not None: None lets aiosmtplib upgrade on its own when offered.
            start_tls=s.smtp_security == "starttls",
            timeout=s.smtp_timeout_seconds,
            local_hostname=self._local_hostname,
        )
        try:
            await client.connect()
        except BaseException:
            _drop(client)
            raise
        return client

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client, _ in idle:
            await _quit(client)


async def _answers(client: aiosmtplib.SMTP) -> bool:
    try:
        await client.noop(timeout=5.0)
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        return False
    return True


async def _quit(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        if client.is_connected:
            await asyncio.wait_for(client.quit(), timeout=2.0)
    _drop(client)


def _drop(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        client.close()
