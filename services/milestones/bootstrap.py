"""Wires the milestones service: database, broker, event consumer, overdue scheduler, HTTP app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import Gauge

from cimis_chassis.clock import Clock, SystemClock
from cimis_chassis.host_factory import build_service_host
from cimis_chassis.migrations import upgrade_to_head
from cimis_chassis.service_host import ServiceHost, create_http_app
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneEscalatedV1,
    MilestoneOverdueV1,
    MilestoneReopenedV1,
    MilestoneReportedV1,
    MilestoneRescheduledV1,
    MilestoneWaivedV1,
    PlanCancelledV1,
    PlanCompletedV1,
    PlanCreatedV1,
)
from services.milestones.adapters.queries import MilestoneQueries
from services.milestones.adapters.tables import chassis
from services.milestones.adapters.unit_of_work import SqlMilestonesUnitOfWork
from services.milestones.app.overdue import OverdueScan
from services.milestones.entrypoints.api import router
from services.milestones.entrypoints.consumer import CONSUMED_TOPICS, event_consumer
from services.milestones.entrypoints.scheduler import OverdueScheduler
from services.milestones.settings import MilestonesSettings

MIGRATIONS = Path(__file__).parent / "migrations"
settings_class = MilestonesSettings

PUBLISHED: list[type[EventData]] = [
    PlanCreatedV1,
    MilestoneReportedV1,
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneWaivedV1,
    MilestoneRescheduledV1,
    MilestoneOverdueV1,
    MilestoneEscalatedV1,
    PlanCompletedV1,
    PlanCancelledV1,
]


def build_host(settings: MilestonesSettings, clock: Clock) -> ServiceHost:
    host = build_service_host(
        settings,
        clock,
        chassis,
        publishes=PUBLISHED,
        consumes=CONSUMED_TOPICS,
        unit_of_work=SqlMilestonesUnitOfWork,
    )
    event_consumer(host).register(host.broker)
    overdue_gauge = Gauge(
        "cimis_milestones_overdue",
        "Milestones past their due day (Europe/Berlin), not completed, of running plans.",
        registry=host.metrics.registry,
    )
    scan = overdue_scan_of(host, batch_size=settings.overdue_scan_batch_size)
    scheduler = OverdueScheduler(
        host, scan, overdue_gauge, interval_seconds=settings.overdue_scan_seconds
    )

    async def overdue_scan() -> None:
        await scheduler.run()

    host.background.append(overdue_scan)
    return host


def units(host: ServiceHost) -> Callable[[Cause], SqlMilestonesUnitOfWork]:
    """New units of work on the host's database, typed as the milestones unit they are."""

    def unit(cause: Cause) -> SqlMilestonesUnitOfWork:
        uow = host.unit_of_work(cause)
        assert isinstance(uow, SqlMilestonesUnitOfWork)
        return uow

    return unit


def overdue_scan_of(host: ServiceHost, *, batch_size: int = 500) -> OverdueScan:
    return OverdueScan(units(host), MilestoneQueries(host.db), host.clock, batch_size=batch_size)


def create_app(settings: MilestonesSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or MilestonesSettings()
    upgrade_to_head(MIGRATIONS, settings.database_url)
    host = build_host(settings, clock or SystemClock())
    return create_http_app(
        host,
        title="CIMIS milestones",
        description="Each team's phase plan: milestones, due dates, completion and overdue alerts.",
        routers=[router],
    )
