"""A milestones unit of work on a SQLite file and a manual clock: handlers run for real."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.envelope import CloudEvent
from cimis_chassis.unit_of_work import Cause, UnitOfWork
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1
from services.milestones.adapters.repository import MilestonesRepository
from services.milestones.adapters.tables import chassis, metadata
from services.milestones.app.intake_events import on_call_opened, on_team_accepted
from services.milestones.app.overdue import OverdueScan
from services.milestones.domain.plans import Plan
from tests.unit.milestones.builders import ACCEPTED_AT, FIVE_STEPS, call_opened, envelope

T = TypeVar("T")


@dataclass
class Harness:
    db: Database
    clock: ManualClock

    async def run(self, work: Callable[[UnitOfWork], Awaitable[T]], actor: str = "api:staff") -> T:
        """Run ``work`` in one unit of work and commit, as the API and the consumer do."""
        async with self.db.transaction() as session:
            uow = UnitOfWork(
                session, chassis, self.clock, "cimis/milestones", Cause(actor, "corr-1", "req-1")
            )
            result = await work(uow)
            await uow.flush()
        return result

    async def apply(
        self,
        handler: Callable[[UnitOfWork, Any, CloudEvent], Awaitable[None]],
        payload: EventData,
    ) -> None:
        event = envelope(payload)
        await self.run(lambda uow: handler(uow, payload, event), actor=f"event:{event.id}")

    async def accept(self, accepted: TeamAcceptedV1) -> Plan:
        """The team's plan once its call (with the five-step plan) opened and it was accepted."""
        await self.apply(on_call_opened, call_opened(accepted.call_id, phase_plan=FIVE_STEPS))
        await self.apply(on_team_accepted, accepted)
        return await self.plan(accepted.team_id)

    async def plan(self, team_id: str = "team-1") -> Plan:
        async with self.db.sessions() as session:
            plan = await MilestonesRepository(session).get_plan(team_id)
        assert plan is not None, f"no plan for {team_id}"
        return plan

    async def has_plan(self, team_id: str) -> bool:
        async with self.db.sessions() as session:
            return await MilestonesRepository(session).get_plan(team_id) is not None

    async def events(
        self, type_: str | None = None, key: str | None = None
    ) -> list[dict[str, Any]]:
        """The CloudEvents queued in the outbox, oldest first."""
        o = chassis.outbox
        query = select(o.c.payload).order_by(o.c.position)
        if type_ is not None:
            query = query.where(o.c.event_type == type_)
        if key is not None:
            query = query.where(o.c.key == key)
        async with self.db.sessions() as session:
            return [json.loads(p) for p in (await session.execute(query)).scalars()]

    async def audit(self, action: str) -> list[dict[str, Any]]:
        a = chassis.audit_log
        async with self.db.sessions() as session:
            rows = await session.execute(select(a).where(a.c.action == action).order_by(a.c.id))
            return [dict(r._mapping) for r in rows.all()]

    def scan(self, batch_size: int = 500, db: Database | None = None) -> OverdueScan:
        return OverdueScan(db or self.db, chassis, self.clock, batch_size=batch_size)


async def create_schema(url: str) -> Database:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return db


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    db = await create_schema(f"sqlite:///{tmp_path / 'milestones.db'}")
    try:
        yield Harness(db, ManualClock(ACCEPTED_AT))
    finally:
        await db.dispose()
