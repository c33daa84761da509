"""Wires the notify service: settings, database, broker, consumer, delivery worker, weekly
digest and HTTP app."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI

from cimis_chassis.clock import Clock, SystemClock
from cimis_chassis.host_factory import build_service_host
from cimis_chassis.migrations import upgrade_to_head
from cimis_chassis.service_host import ServiceHost, create_http_app
from cimis_chassis.unit_of_work import Cause, SqlUnitOfWork
from cimis_contracts.notify import (
    AgentRegisteredV1,
    AgentRetiredV1,
    AgentUpdatedV1,
    NotificationDeliveredV1,
    NotificationFailedV1,
)
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.smtp import SmtpSender
from services.notify.adapters.tables import chassis
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.unit_of_work import SqlNotifyUnitOfWork
from services.notify.adapters.webhook import WebhookSender
from services.notify.app.alerts import Alerts, StaffMailbox
from services.notify.app.digests import WeeklyDigests
from services.notify.domain.delivery import EMAIL, WEBHOOK, RetryPolicy
from services.notify.entrypoints.api import router
from services.notify.entrypoints.consumer import CONSUMED_TOPICS, alert_consumer
from services.notify.entrypoints.delivery_worker import DeliveryWorker
from services.notify.entrypoints.digest_scheduler import DigestScheduler
from services.notify.settings import NotifySettings

MIGRATIONS = Path(__file__).parent / "migrations"
settings_class = NotifySettings

log = logging.getLogger(__name__)


def build_host(settings: NotifySettings, clock: Clock) -> ServiceHost:
    host = build_service_host(
        settings,
        clock,
        chassis,
        publishes=[
            NotificationDeliveredV1,
            NotificationFailedV1,
            AgentRegisteredV1,
            AgentUpdatedV1,
            AgentRetiredV1,
        ],
        consumes=CONSUMED_TOPICS,
        unit_of_work=SqlNotifyUnitOfWork,
    )

    def units(cause: Cause) -> SqlNotifyUnitOfWork:
        unit = host.unit_of_work(cause)
        assert isinstance(unit, SqlNotifyUnitOfWork)
        return unit

    business = NotifyMetrics(host.metrics.registry)
    renderer = TemplateRenderer()
    alerts = Alerts(
        renderer,
        StaffMailbox(settings.staff_mailbox_email, settings.staff_language),
        business,
    )
    worker = DeliveryWorker(
        db=host.db,
        units=units,
        clock=clock,
        senders={
            EMAIL: SmtpSender(settings),
            WEBHOOK: WebhookSender(
                timeout_seconds=settings.webhook_timeout_seconds, policy=settings.webhook_policy()
            ),
        },
        policy=RetryPolicy(
            base_seconds=settings.delivery_retry_base_seconds,
            factor=settings.delivery_retry_factor,
            max_seconds=settings.delivery_retry_max_seconds,
            max_attempts=settings.delivery_max_attempts,
        ),
        metrics=business,
        poll_seconds=settings.delivery_poll_seconds,
        batch_size=settings.delivery_batch_size,
        concurrency=settings.delivery_concurrency,
        claim_seconds=settings.delivery_claim_seconds,
        on_committed=host.relay.wake,
    )
    alert_consumer(host, alerts).register(host.broker)

    def wake_for_new_deliveries(unit: SqlUnitOfWork) -> None:
        if isinstance(unit, SqlNotifyUnitOfWork) and unit.deliveries.written:
            worker.wake()

    host.commit_listeners.append(wake_for_new_deliveries)
    host.background.append(worker.run)
    digests = DigestScheduler(
        WeeklyDigests(units, renderer, business), interval_seconds=settings.digest_check_seconds
    )
    host.background.append(digests.run)
    return host


def create_app(settings: NotifySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    if not settings.staff_mailbox_email:
        log.warning("STAFF_MAILBOX_EMAIL is not set: staff alerts stay in the in-app inbox")
    upgrade_to_head(MIGRATIONS, settings.database_url)
    host = build_host(settings, clock or SystemClock())
    return create_http_app(
        host,
        title="CIMIS notify",
        description="Network agents' contacts and the alerts they receive, with their delivery.",
        routers=[router],
    )
