"""The relay never publishes a confirmed row twice, and SQLite writers never lock each other out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from cimis_chassis.clock import ManualClock, SystemClock
from cimis_chassis.database import Database
from cimis_chassis.metrics import ServiceMetrics
from cimis_chassis.outbox import OutboxRelay
from services.intake.adapters.tables import chassis
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite
from tests.contract.test_chassis_persistence import (
    START,
    FakeBroker,
    RelayFixtures,
    outbox_rows,
    pending_ids,
    write_event,
    write_events,
)

FAST_RETRIES = (0.01, 0.02, 0.05)


@contextmanager
def failing_marks(db: Database, times: int | None) -> Iterator[list[str]]:
    """Make the next ``times`` (None: every) ``published_at`` writes fail like a locked database.

    The failure is raised where the driver would raise it, inside the relay's transaction,
    which then rolls back. Yields the statements that failed.
    """
    failed: list[str] = []

    def before_cursor_execute(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if not statement.lstrip().startswith("UPDATE outbox SET published_at"):
            return
        if times is not None and len(failed) >= times:
            return
        failed.append(statement)
        raise OperationalError(statement, parameters, Exception("database is locked"))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield failed
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


class MarkRetryContract(RelayFixtures, DatabaseContract):
    @pytest.fixture
    def relay(
        self, db: Database, broker: FakeBroker, clock: ManualClock, metrics: ServiceMetrics
    ) -> OutboxRelay:
        return OutboxRelay(
            db,
            chassis.outbox,
            chassis.leases,
            broker.send,
            clock,
            metrics,
            mark_retry_delays=FAST_RETRIES,
            mark_grace_at_stop=0.1,
        )

    async def test_a_mark_that_fails_once_is_retried_and_the_batch_is_not_sent_again(
        self,
        db: Database,
        clock: ManualClock,
        relay: OutboxRelay,
        broker: FakeBroker,
        metrics: ServiceMetrics,
    ) -> None:
        await write_events(db, clock, ("e1", "team-a"), ("e2", "team-b"), ("e3", "team-a"))

        with failing_marks(db, times=1) as failed:
            assert await relay.publish_pending() == 3

        assert len(failed) == 1
        assert await pending_ids(db) == []
        assert {row.published_at for row in (await outbox_rows(db)).values()} == {clock.now()}
        assert relay.unmarked_positions == frozenset()
        assert await relay.publish_pending() == 0
        assert broker.sent_ids() == ["e1", "e2", "e3"]
        assert metrics.registry.get_sample_value("cimis_outbox_published_events_total") == 3

    async def test_a_running_relay_keeps_retrying_the_mark_and_sends_each_row_once(
        self, db: Database, clock: ManualClock, relay: OutboxRelay, broker: FakeBroker
    ) -> None:
        await write_events(db, clock, ("e1", "team-a"), ("e2", "team-b"))

        with failing_marks(db, times=5) as failed:
            running = asyncio.create_task(relay.run())
            try:
                await wait_for(lambda: len(failed) == 5)
                await write_events(db, clock, ("e3", "team-a"))
                relay.wake()
                await wait_until_drained(db)
            finally:
                relay.stop()
                await running

        assert broker.sent_ids() == ["e1", "e2", "e3"]

    async def test_rows_left_unmarked_at_stop_are_skipped_not_sent_again(
        self, db: Database, clock: ManualClock, relay: OutboxRelay, broker: FakeBroker
    ) -> None:
        await write_events(db, clock, ("e1", "team-a"), ("e2", "team-b"))
        relay.stop()

        with failing_marks(db, times=None):
            # Stopping, the relay gives the mark up after its grace period...
            assert await relay.publish_pending() == 2
            assert len(relay.unmarked_positions) == 2
            await write_events(db, clock, ("e3", "team-a"))
            # ...and the rows it knows were confirmed are not sent again; e3 still goes out.
            assert await relay.publish_pending() == 1

        assert broker.sent_ids() == ["e1", "e2", "e3"]
        # Only a new process (no memory of the confirmation) would send e1 to e3 again.
        assert await relay.publish_pending() == 0
        assert await pending_ids(db) == []
        assert broker.sent_ids() == ["e1", "e2", "e3"]


class TestMarkRetryOnSqlite(OnSqlite, MarkRetryContract):
    pass


class TestMarkRetryOnPostgres(OnPostgres, MarkRetryContract):
    pass


async def wait_for(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def pending_count(db: Database) -> int:
    o = chassis.outbox
    async with db.sessions() as session:
        count: int = (
            await session.execute(select(func.count()).where(o.c.published_at.is_(None)))
        ).scalar_one()
    return count


async def wait_until_drained(db: Database, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while await pending_count(db) > 0:
            await asyncio.sleep(0.02)


class DelayedBroker(FakeBroker):
    """Confirms each record a moment after it was sent, as a broker's acknowledgement does."""

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        sent = await super().send(topic, key, value, headers)
        confirmed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def confirm(_: asyncio.Future[Any]) -> None:
            confirmed.get_loop().call_later(0.002, confirmed.set_result, None)

        sent.add_done_callback(confirm)
        return confirmed


WRITERS = 8
TRANSACTIONS_PER_WRITER = 120


class TestRelayAndWritersOnOneSqliteFile(OnSqlite):
    """The benchmark's fight in small: a relay and a busy writer on one SQLite file."""

    @pytest.fixture
    async def db(self, database_url: str) -> AsyncIterator[Database]:
        # A short busy timeout: any wait for SQLite's lock inside this process shows up at once
        # as "database is locked" instead of hiding in a 10 s timeout.
        database = Database(database_url, busy_timeout_ms=200)
        try:
            yield database
        finally:
            await database.dispose()

    async def test_no_writer_is_locked_out_and_no_row_is_published_twice(
        self, db: Database, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="cimis_chassis")
        broker = DelayedBroker()
        clock = ManualClock(START)
        relay = OutboxRelay(
            db,
            chassis.outbox,
            chassis.leases,
            broker.send,
            SystemClock(),
            ServiceMetrics("contention"),
            batch_size=20,
            poll_seconds=0.005,
            # Renewed every 50 ms: the lease is a writer in the fight too.
            lease_ttl=timedelta(milliseconds=100),
        )
        errors: list[BaseException] = []
        written: dict[str, list[str]] = {}

        async def busy_writer(number: int) -> None:
            key = f"team-{number}"
            for n in range(TRANSACTIONS_PER_WRITER):
                event_id = f"{key}-{n:04d}"
                try:
                    async with db.transaction() as session:
                        await write_event(session, clock, event_id, key)
                except Exception as exc:
                    errors.append(exc)
                else:
                    written.setdefault(key, []).append(event_id)
                    relay.wake()
                await asyncio.sleep(0)

        running = asyncio.create_task(relay.run())
        try:
            await asyncio.gather(*(busy_writer(n) for n in range(WRITERS)))
            await wait_until_drained(db)
        finally:
            relay.stop()
            await running

        assert errors == []
        problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert problems == []
        sent = broker.sent_ids()
        assert len(sent) == len(set(sent)) == WRITERS * TRANSACTIONS_PER_WRITER
        for key, ids in written.items():
            assert [r.event_id for r in broker.sent if r.key == key] == ids
