"""Wires the intake service: settings, database, broker, relay, budget consumer and HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cimis_chassis.clock import Clock, SystemClock
from cimis_chassis.host_factory import build_service_host
from cimis_chassis.migrations import upgrade_to_head
from cimis_chassis.service_host import ServiceHost, create_http_app
from cimis_contracts.intake import (
    ApplicationSubmittedV1,
    CallBudgetIncreasedV1,
    CallOpenedV1,
    TeamAcceptedV1,
    TeamProposedV1,
    TeamReassignedV1,
    TeamWithdrawnV1,
)
from services.intake.adapters.tables import chassis
from services.intake.adapters.unit_of_work import SqlIntakeUnitOfWork
from services.intake.entrypoints.api import router
from services.intake.entrypoints.consumer import CONSUMED_TOPICS, intake_consumer
from services.intake.settings import IntakeSettings

MIGRATIONS = Path(__file__).parent / "migrations"
settings_class = IntakeSettings


def build_host(settings: IntakeSettings, clock: Clock) -> ServiceHost:
    host = build_service_host(
        settings,
        clock,
        chassis,
        publishes=[
            CallOpenedV1,
            CallBudgetIncreasedV1,
            ApplicationSubmittedV1,
            TeamProposedV1,
            TeamAcceptedV1,
            TeamReassignedV1,
            TeamWithdrawnV1,
        ],
        consumes=CONSUMED_TOPICS,
        unit_of_work=SqlIntakeUnitOfWork,
    )
    intake_consumer(host).register(host.broker)
    return host


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
