"""Wires the outcomes service: settings, database, broker, consumer and HTTP app (the admin
API and the public catalogue)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cimis_chassis.clock import Clock, SystemClock
from cimis_chassis.host_factory import build_service_host
from cimis_chassis.migrations import upgrade_to_head
from cimis_chassis.service_host import ServiceHost, create_http_app
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.outcomes import (
    BlueprintChangesRequestedV1,
    BlueprintPublishedV1,
    BlueprintSubmittedV1,
    BlueprintWithdrawnV1,
    TeamSpendingOffPlanV1,
)
from services.outcomes.adapters.metrics import OutcomesMetrics
from services.outcomes.adapters.tables import chassis
from services.outcomes.adapters.unit_of_work import SqlOutcomesUnitOfWork
from services.outcomes.app.forecast_watch import ForecastWatch
from services.outcomes.entrypoints.api import router
from services.outcomes.entrypoints.consumer import CONSUMED_TOPICS, outcomes_consumer
from services.outcomes.entrypoints.forecast_api import router as forecast_router
from services.outcomes.entrypoints.forecast_scheduler import ForecastScheduler
from services.outcomes.entrypoints.public import router as public_router
from services.outcomes.entrypoints.report_api import router as report_router
from services.outcomes.settings import OutcomesSettings

MIGRATIONS = Path(__file__).parent / "migrations"
settings_class = OutcomesSettings


def build_host(settings: OutcomesSettings, clock: Clock) -> ServiceHost:
    host = build_service_host(
        settings,
        clock,
        chassis,
        publishes=[
            BlueprintSubmittedV1,
            BlueprintChangesRequestedV1,
            BlueprintPublishedV1,
            BlueprintWithdrawnV1,
            TeamSpendingOffPlanV1,
        ],
        consumes=CONSUMED_TOPICS,
        unit_of_work=SqlOutcomesUnitOfWork,
    )
    outcomes_consumer(host).register(host.broker)

    def units(cause: Cause) -> SqlOutcomesUnitOfWork:
        unit = host.unit_of_work(cause)
        assert isinstance(unit, SqlOutcomesUnitOfWork)
        return unit

    scheduler = ForecastScheduler(
        host,
        ForecastWatch(units),
        OutcomesMetrics(host.metrics.registry),
        interval_seconds=settings.forecast_scan_seconds,
    )
    host.background.append(scheduler.run)
    return host


def create_app(settings: OutcomesSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or OutcomesSettings()
    upgrade_to_head(MIGRATIONS, settings.database_url)
    host = build_host(settings, clock or SystemClock())
    return create_http_app(
        host,
        title="CIMIS outcomes",
        description="What the programme produced: the teams' blueprints, their public "
        "catalogue and the funder's report.",
        routers=[router, report_router, forecast_router, public_router],
    )
