"""Wires the intake service: settings, database, broker, relay and HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cimis_chassis.clock import Clock, SystemClock
from cimis_chassis.database import Database
from cimis_chassis.kafka import make_broker
from cimis_chassis.metrics import ServiceMetrics
from cimis_chassis.migrations import upgrade_to_head
from cimis_chassis.service_host import ServiceHost, create_http_app
from cimis_contracts import topics
from cimis_contracts.asyncapi import document_publisher
from cimis_contracts.intake import CallOpenedV1, TeamAcceptedV1, TeamWithdrawnV1
from services.intake.adapters.tables import chassis
from services.intake.entrypoints.api import router
from services.intake.settings import IntakeSettings

MIGRATIONS = Path(__file__).parent / "migrations"
settings_class = IntakeSettings


def build_host(settings: IntakeSettings, clock: Clock) -> ServiceHost:
    metrics = ServiceMetrics(settings.service_name)
    broker = make_broker(
        settings.kafka_bootstrap_servers,
        client_id=f"cimis-{settings.service_name}",
        registry=metrics.registry,
        service=settings.service_name,
    )
    document_publisher(broker, topics.INTAKE, [CallOpenedV1, TeamAcceptedV1, TeamWithdrawnV1])
    return ServiceHost(
        name=settings.service_name,
        settings=settings,
        clock=clock,
        db=Database(settings.database_url),
        tables=chassis,
        broker=broker,
        metrics=metrics,
        topics={topics.INTAKE: topics.DEFAULT_PARTITIONS},
    )


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    upgrade_to_head(MIGRATIONS, settings.database_url)
    host = build_host(settings, clock or SystemClock())
    return create_http_app(
        host,
        title="CIMIS intake",
        description="Calls, applications, eligibility and teams of the programme.",
        routers=[router],
    )
