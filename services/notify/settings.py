"""Notify's settings: the chassis settings plus SMTP, webhook, staff mailbox, delivery pacing
and the weekly digest's check interval."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cimis_chassis.settings import ServiceSettings
from services.notify.domain.webhooks import WebhookPolicy


class WebhookSettings(BaseSettings):
    """Which webhook receivers beyond the public internet are admitted (SSRF guard).

    ``WEBHOOK_ALLOWED_HOSTS``: comma-separated host names (``.example.org`` for a whole
    domain), addresses or CIDR ranges of internal receivers; empty by default, so only public
    HTTPS receivers are admitted. ``WEBHOOK_ALLOW_HTTP``: plain http:// for those receivers.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    webhook_allowed_hosts: str = ""
    webhook_allow_http: bool = False

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _parseable(cls, value: str) -> str:
        WebhookPolicy.from_entries(value.split(","), allow_http=False)  # fails fast on a typo
        return value

    def webhook_policy(self) -> WebhookPolicy:
        return WebhookPolicy.from_entries(
            self.webhook_allowed_hosts.split(","), allow_http=self.webhook_allow_http
        )


class NotifySettings(ServiceSettings, WebhookSettings):
    service_name: str = "notify"
    http_port: int = 8004

    # Defaults match the local SMTP sink of `make run`; production sets SMTP_HOST and friends.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, gt=0, lt=65536)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "CIMIS Programmbüro <noreply@cimis.localhost>"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)

    # Where "staff" alerts (allocation refused) are mailed; unset means the in-app inbox only.
    staff_mailbox_email: str | None = None
    staff_language: Literal["de", "en"] = "de"

    webhook_timeout_seconds: float = Field(default=10.0, gt=0)

    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_batch_size: int = Field(default=50, gt=0, le=1000)
    delivery_concurrency: int = Field(default=10, gt=0, le=200)
    # A claim must outlive the slowest send, or a second instance would send the same message.
    delivery_claim_seconds: float = Field(default=120.0, gt=0)
    delivery_retry_base_seconds: float = Field(default=30.0, ge=0)
    delivery_retry_factor: float = Field(default=2.0, ge=1)
    delivery_retry_max_seconds: float = Field(default=3600.0, ge=0)
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)

    # How often each instance looks for weekly digests that are due (DIGEST_CHECK_SECONDS).
    digest_check_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> NotifySettings:
        if self.smtp_username and self.smtp_password is None:
            raise ValueError("SMTP_USERNAME is set but SMTP_PASSWORD is missing")
        slowest_send = max(self.smtp_timeout_seconds, self.webhook_timeout_seconds)
        if self.delivery_claim_seconds <= slowest_send:
            raise ValueError(
                "DELIVERY_CLAIM_SECONDS must exceed the SMTP and webhook timeouts, or another "
                "instance could claim a delivery that is still being sent"
            )
        return self
