"""Sends a notification as a plain-text email over SMTP (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from services.notify.adapters.channels import DeliveryError, OutgoingMessage
from services.notify.settings import NotifySettings


class SmtpSender:
    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        # First: set_content() drops any Content-* header set before it.
        mail.set_content(message.body)
        mail["From"] = self._settings.smtp_from
        mail["To"] = message.target
        mail["Subject"] = message.title
        mail["Date"] = format_datetime(message.sent_at)
        # A stable Message-ID: a resend after a crash (at-least-once) is recognisably the same
        # message, and mail clients may fold the copies.
        mail["Message-ID"] = f"<{message.notification_id}@notify.cimis>"
        mail["Content-Language"] = message.language
        mail["X-CIMIS-Notification-ID"] = message.notification_id
        mail["X-CIMIS-Kind"] = message.kind
        if message.team_id:
            mail["X-CIMIS-Team-ID"] = message.team_id
        mail["Auto-Submitted"] = "auto-generated"
        return mail

    async def send(self, message: OutgoingMessage) -> None:
        s = self._settings
        try:
            await aiosmtplib.send(
                self.compose(message),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_security == "tls",
                # False, not None: None lets aiosmtplib upgrade on its own when offered.
                start_tls=s.smtp_security == "starttls",
                timeout=s.smtp_timeout_seconds,
            )
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

    async def close(self) -> None:
        return None
