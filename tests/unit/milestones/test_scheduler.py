"""The overdue scheduler: scans only while holding its lease, sets the gauge, survives errors.

The lease lives in the database, so these run on a SQLite file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import select

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.leases import acquire_lease
from cimis_chassis.service_host import ServiceHost
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.milestones import MilestoneOverdueV1
from services.milestones.adapters.tables import chassis, metadata
from services.milestones.app.overdue import OverdueScan
from services.milestones.bootstrap import build_host, overdue_scan_of, units
from services.milestones.entrypoints.consumer import HANDLERS
from services.milestones.entrypoints.scheduler import OverdueScheduler
from services.milestones.settings import MilestonesSettings
from tests.unit.milestones.builders import (
    ACCEPTED_AT,
    FIVE_STEPS,
    allocated,
    call_opened,
    envelope,
    team_accepted,
)

PAST_EVERYTHING = datetime(2025, 6, 1, tzinfo=UTC)


async def create_schema(url: str) -> Database:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return db


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[ServiceHost]:
    url = f"sqlite:///{tmp_path / 'milestones.db'}"
    await (await create_schema(url)).dispose()
    settings = MilestonesSettings(
        database_url=url, kafka_bootstrap_servers="127.0.0.1:9", var_dir=tmp_path
    )
    host = build_host(settings, ManualClock(ACCEPTED_AT))
    try:
        yield host
    finally:
        await host.db.dispose()


def gauge() -> Gauge:
    return Gauge("cimis_milestones_overdue", "test", registry=None)


def value_of(meter: Gauge) -> float | None:
    registry = CollectorRegistry()
    registry.register(meter)
    return registry.get_sample_value("cimis_milestones_overdue")


def scheduler_of(
    host: ServiceHost, scan: Any = None, meter: Gauge | None = None
) -> OverdueScheduler:
    return OverdueScheduler(
        host,
        scan or overdue_scan_of(host),
        meter or gauge(),
        interval_seconds=0.01,
    )


async def overdue_events(host: ServiceHost) -> int:
    o = chassis.outbox
    async with host.db.sessions() as session:
        rows = await session.execute(
            select(o.c.event_id).where(o.c.event_type == MilestoneOverdueV1.TYPE)
        )
        return len(rows.all())


async def plan_a_team(host: ServiceHost) -> None:
    assert isinstance(host.clock, ManualClock)
    unit = units(host)
    for payload in (call_opened(phase_plan=FIVE_STEPS), team_accepted(), allocated()):
        async with unit(Cause("test", "corr-1")) as uow:
            await HANDLERS[type(payload)](uow, payload, envelope(payload))
    host.clock.set(PAST_EVERYTHING)


class TestTick:
    async def test_holding_the_lease_it_scans_and_sets_the_gauge(self, host: ServiceHost) -> None:
        await plan_a_team(host)
        meter = gauge()

        await scheduler_of(host, meter=meter).tick()

        assert await overdue_events(host) == 5
        assert value_of(meter) == 5

    async def test_while_another_instance_holds_the_lease_it_only_sets_the_gauge(
        self, host: ServiceHost
    ) -> None:
        await plan_a_team(host)
        assert await acquire_lease(
            host.db,
            host.tables.leases,
            name=OverdueScheduler.LEASE,
            holder="other-instance",
            now=host.clock.now(),
            ttl=timedelta(minutes=5),
        )
        meter = gauge()

        await scheduler_of(host, meter=meter).tick()

        assert await overdue_events(host) == 0
        assert value_of(meter) == 5


class FlakyScan:
    """Fails on its first round, like a database that is briefly away, then scans for real."""

    def __init__(self, real: OverdueScan) -> None:
        self.real = real
        self.rounds = 0

    async def run_once(self) -> list[Any]:
        self.rounds += 1
        if self.rounds == 1:
            raise OSError("database is restarting")
        return await self.real.run_once()

    async def count_overdue(self) -> int:
        return await self.real.count_overdue()


class TestRun:
    async def test_an_error_is_logged_and_the_next_round_runs(
        self, host: ServiceHost, caplog: pytest.LogCaptureFixture
    ) -> None:
        await plan_a_team(host)
        flaky = FlakyScan(overdue_scan_of(host))
        task = asyncio.create_task(scheduler_of(host, scan=flaky).run())
        try:
            async with asyncio.timeout(10):
                while await overdue_events(host) < 5:
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert flaky.rounds >= 2
        assert "overdue scan failed" in caplog.text

    async def test_stopping_releases_the_lease_for_the_next_instance(
        self, host: ServiceHost
    ) -> None:
        task = asyncio.create_task(scheduler_of(host).run())
        async with asyncio.timeout(10):
            while not await _lease_taken(host):
                await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

        assert await acquire_lease(
            host.db,
            host.tables.leases,
            name=OverdueScheduler.LEASE,
            holder="next-instance",
            now=host.clock.now(),
            ttl=timedelta(minutes=1),
        )


async def _lease_taken(host: ServiceHost) -> bool:
    leases = host.tables.leases
    async with host.db.sessions() as session:
        row = await session.execute(
            select(leases.c.holder).where(leases.c.name == OverdueScheduler.LEASE)
        )
        return row.first() is not None
