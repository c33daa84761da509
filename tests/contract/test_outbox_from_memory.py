"""The relay sends what this process just committed from memory, and the sweep stays the net.

Rows handed over by a unit of work's commit go out without being read back, but only while
the last sweep found no backlog, so that no key's events overtake older ones; a failed send,
or a row that committed late with a lower position, leaves the rows to the sweep.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.metrics import ServiceMetrics
from cimis_chassis.outbox import OutboxRecord, OutboxRelay
from cimis_chassis.unit_of_work import Cause, SqlUnitOfWork
from cimis_contracts.budget import BudgetClosedV1
from services.intake.adapters.tables import chassis
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite
from tests.contract.test_chassis_persistence import (
    BrokerError,
    FakeBroker,
    RelayFixtures,
    pending_ids,
    write_events,
)

AT = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)


def closed(team_id: str) -> BudgetClosedV1:
    return BudgetClosedV1(
        team_id=team_id, call_id="c1", returned_cents=0, approved_cents=0, closed_at=AT
    )


class OutboxFromMemoryContract(RelayFixtures, DatabaseContract):
    @pytest.fixture
    def relay(
        self, db: Database, broker: FakeBroker, clock: ManualClock, metrics: ServiceMetrics
    ) -> OutboxRelay:
        return OutboxRelay(db, chassis.outbox, chassis.leases, broker.send, clock, metrics)

    async def commit(
        self, db: Database, relay: OutboxRelay, *events: tuple[str, str], offer: bool = True
    ) -> list[OutboxRecord]:
        """Commit one unit emitting ``(event id, key)`` pairs; returns its outbox records."""
        written: list[OutboxRecord] = []

        def committed(_unit: SqlUnitOfWork, records: list[OutboxRecord]) -> None:
            written.extend(records)
            if offer:
                relay.offer(records)

        unit = SqlUnitOfWork(
            db,
            chassis,
            clock=ManualClock(AT),
            source="cimis/contract",
            cause=Cause("test", "corr"),
            on_commit=committed,
        )
        async with unit as uow:
            for event_id, key in events:
                await uow.emit(closed(key), event_id=event_id)
        return written

    async def test_committed_rows_go_out_from_memory_once_the_backlog_is_clear(
        self, db: Database, relay: OutboxRelay, broker: FakeBroker, clock: ManualClock
    ) -> None:
        await write_events(db, clock, ("old-1", "team-a"), ("old-2", "team-b"))
        await self.commit(db, relay, ("new-1", "team-a"))

        assert await relay.publish_fresh() == 0  # older rows wait: the sweep goes first
        assert await relay.publish_pending() == 3
        records = await self.commit(db, relay, ("new-2", "team-a"), ("new-3", "team-b"))
        assert [r.position for r in records] == sorted(r.position for r in records)

        assert await relay.publish_fresh() == 2
        assert await relay.publish_pending() == 0
        assert broker.sent_ids() == ["old-1", "old-2", "new-1", "new-2", "new-3"]
        assert relay.sent_from_memory == 2
        assert await pending_ids(db) == []

    async def test_a_failed_send_leaves_the_rows_to_the_sweep_in_order(
        self, db: Database, relay: OutboxRelay, broker: FakeBroker
    ) -> None:
        assert await relay.publish_pending() == 0
        await self.commit(db, relay, ("e1", "team-a"), ("e2", "team-a"))
        broker.refuse = {"e1"}

        with pytest.raises(BrokerError):
            await relay.publish_fresh()
        broker.refuse = set()
        await self.commit(db, relay, ("e3", "team-a"))

        assert await relay.publish_fresh() == 0
        assert await relay.publish_pending() == 3
        assert broker.sent_ids()[-3:] == ["e1", "e2", "e3"]
        assert await pending_ids(db) == []

    async def test_a_row_that_committed_late_with_a_lower_position_waits_for_the_sweep(
        self, db: Database, relay: OutboxRelay, broker: FakeBroker
    ) -> None:
        assert await relay.publish_pending() == 0
        late = await self.commit(db, relay, ("late", "team-a"), offer=False)
        await self.commit(db, relay, ("early", "team-b"))
        assert await relay.publish_fresh() == 1

        relay.offer(late)
        assert await relay.publish_fresh() == 0
        assert await relay.publish_pending() == 1
        assert broker.sent_ids() == ["early", "late"]
        assert await pending_ids(db) == []


class TestOutboxFromMemoryOnSqlite(OnSqlite, OutboxFromMemoryContract):
    pass


class TestOutboxFromMemoryOnPostgres(OnPostgres, OutboxFromMemoryContract):
    pass
