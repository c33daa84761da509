"""The chassis outbox, inbox, leases, idempotency keys and UTC columns on every database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.audit import AuditEntry, record_audit
from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.envelope import make_event, parse_event
from cimis_chassis.idempotency import run_idempotent
from cimis_chassis.inbox import claim_events
from cimis_chassis.leases import acquire_lease, release_lease
from cimis_chassis.metrics import ServiceMetrics
from cimis_chassis.outbox import OutboxRelay, outbox_row, write_outbox
from cimis_chassis.problems import Problem
from cimis_chassis.unit_of_work import Cause, SqlUnitOfWork, UnitOfWork
from services.intake.adapters.tables import chassis
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite

START = datetime(2024, 8, 1, 10, 0, 0, 123456, tzinfo=UTC)
TOPIC = "cimis.contract.v1"
EVENT_TYPE = "de.cimis.contract.something_happened.v1"


class BrokerError(Exception):
    """The fake broker's refusal to confirm a record."""


class WorkFailed(Exception):
    """A failure after some writes, which must take those writes down with it."""


async def fail_after(db: Database, write: Callable[[AsyncSession], Awaitable[None]]) -> None:
    async with db.transaction() as session:
        await write(session)
        raise WorkFailed("failed after writing")


@dataclass(frozen=True)
class SentRecord:
    topic: str
    key: str
    event_id: str
    headers: dict[str, str]


class FakeBroker:
    """Takes records like an idempotent producer: each send returns a still-pending future.

    The future is confirmed, or failed for event ids in ``refuse``, once the relay has enqueued
    the whole batch, as a real producer's acknowledgements arrive after the sends.
    """

    def __init__(self) -> None:
        self.sent: list[SentRecord] = []
        self.refuse: set[str] = set()

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        event = parse_event(value)
        self.sent.append(SentRecord(topic, key.decode(), event.id, headers))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if event.id in self.refuse:
            future.get_loop().call_soon(future.set_exception, BrokerError(f"no ack: {event.id}"))
        else:
            future.get_loop().call_soon(future.set_result, None)
        return future

    def sent_ids(self) -> list[str]:
        return [record.event_id for record in self.sent]


async def write_events(db: Database, clock: ManualClock, *events: tuple[str, str]) -> None:
    """Commit one outbox row per ``(event_id, key)``, in the order given."""
    async with db.transaction() as session:
        for event_id, key in events:
            await write_event(session, clock, event_id, key)


async def write_event(session: AsyncSession, clock: ManualClock, event_id: str, key: str) -> None:
    event = make_event(
        source="cimis/contract",
        type_=EVENT_TYPE,
        subject=key,
        time=clock.now(),
        data={"event": event_id},
        correlation_id="corr-1",
        event_id=event_id,
    )
    await write_outbox(session, chassis.outbox, [outbox_row(event, topic=TOPIC, key=key)])


async def outbox_rows(db: Database) -> dict[str, Row[Any]]:
    o = chassis.outbox
    async with db.sessions() as session:
        rows = (await session.execute(select(o).order_by(o.c.position))).all()
    return {row.event_id: row for row in rows}


async def pending_ids(db: Database) -> list[str]:
    return [eid for eid, row in (await outbox_rows(db)).items() if row.published_at is None]


class RelayFixtures:
    """A test clock, a broker that records what it is asked to send, and metrics."""

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(START)

    @pytest.fixture
    def broker(self) -> FakeBroker:
        return FakeBroker()

    @pytest.fixture
    def metrics(self) -> ServiceMetrics:
        return ServiceMetrics("contract")


class OutboxContract(RelayFixtures, DatabaseContract):
    @pytest.fixture
    def relay(
        self, db: Database, broker: FakeBroker, clock: ManualClock, metrics: ServiceMetrics
    ) -> OutboxRelay:
        return OutboxRelay(db, chassis.outbox, chassis.leases, broker.send, clock, metrics)

    async def test_committed_rows_are_pending_in_the_order_they_were_written(
        self, db: Database, clock: ManualClock
    ) -> None:
        await write_events(db, clock, ("e1", "team-a"), ("e2", "team-b"))
        await write_events(db, clock, ("e3", "team-a"))

        rows = await outbox_rows(db)
        assert list(rows) == ["e1", "e2", "e3"]
        assert [row.position for row in rows.values()] == sorted(r.position for r in rows.values())
        assert all(row.published_at is None and row.attempts == 0 for row in rows.values())
        assert rows["e1"].created_at == START

    async def test_rows_of_a_rolled_back_transaction_never_appear(
        self, db: Database, clock: ManualClock, relay: OutboxRelay, broker: FakeBroker
    ) -> None:
        async def write_then_fail(session: AsyncSession) -> None:
            await write_event(session, clock, "e1", "team-a")

        with pytest.raises(WorkFailed):
            await fail_after(db, write_then_fail)

        assert await outbox_rows(db) == {}
        assert await relay.publish_pending() == 0
        assert broker.sent == []

    async def test_relay_sends_pending_rows_in_position_order_and_marks_them_published(
        self,
        db: Database,
        clock: ManualClock,
        relay: OutboxRelay,
        broker: FakeBroker,
        metrics: ServiceMetrics,
    ) -> None:
        await write_events(db, clock, ("e1", "team-a"), ("e2", "team-b"), ("e3", "team-a"))
        clock.advance(timedelta(seconds=5))

        assert await relay.publish_pending() == 3

        assert broker.sent_ids() == ["e1", "e2", "e3"]
        assert [(r.topic, r.key) for r in broker.sent] == [
            (TOPIC, "team-a"),
            (TOPIC, "team-b"),
            (TOPIC, "team-a"),
        ]
        assert broker.sent[0].headers["ce_type"] == EVENT_TYPE
        rows = await outbox_rows(db)
        assert {row.published_at for row in rows.values()} == {clock.now()}
        assert metrics.registry.get_sample_value("cimis_outbox_published_events_total") == 3

    async def test_published_rows_are_not_sent_again(
        self, db: Database, clock: ManualClock, relay: OutboxRelay, broker: FakeBroker
    ) -> None:
        await write_events(db, clock, ("e1", "team-a"))
        await relay.publish_pending()

        assert await relay.publish_pending() == 0
        assert broker.sent_ids() == ["e1"]

    async def test_relay_marks_only_confirmed_rows_and_records_the_failure(
        self,
        db: Database,
        clock: ManualClock,
        relay: OutboxRelay,
        broker: FakeBroker,
        metrics: ServiceMetrics,
    ) -> None:
        await write_events(db, clock, ("e1", "team-a"), ("e2", "team-b"))
        broker.refuse = {"e1"}

        with pytest.raises(BrokerError, match="no ack: e1"):
            await relay.publish_pending()

        rows = await outbox_rows(db)
        assert rows["e2"].published_at == clock.now()
        assert rows["e1"].published_at is None
        assert rows["e1"].attempts == 1
        assert "no ack: e1" in rows["e1"].last_error
        assert rows["e2"].attempts == 0
        assert metrics.registry.get_sample_value("cimis_outbox_published_events_total") == 1

    async def test_a_failed_row_holds_back_the_later_rows_of_its_key(
        self, db: Database, clock: ManualClock, relay: OutboxRelay, broker: FakeBroker
    ) -> None:
        await write_events(db, clock, ("a1", "team-a"), ("a2", "team-a"), ("b1", "team-b"))
        broker.refuse = {"a1"}

        with pytest.raises(BrokerError):
            await relay.publish_pending()

        # a2 reached the broker, but counts as sent only after a1 did, so it goes again.
        assert await pending_ids(db) == ["a1", "a2"]

    async def test_held_back_rows_go_out_in_their_key_order_once_the_broker_confirms(
        self, db: Database, clock: ManualClock, relay: OutboxRelay, broker: FakeBroker
    ) -> None:
        await write_events(db, clock, ("a1", "team-a"), ("a2", "team-a"), ("b1", "team-b"))
        broker.refuse = {"a1"}
        with pytest.raises(BrokerError):
            await relay.publish_pending()
        broker.refuse = set()
        broker.sent.clear()

        assert await relay.publish_pending() == 2

        assert broker.sent_ids() == ["a1", "a2"]
        assert await pending_ids(db) == []

    async def test_attempts_count_every_failed_round(
        self, db: Database, clock: ManualClock, relay: OutboxRelay, broker: FakeBroker
    ) -> None:
        await write_events(db, clock, ("e1", "team-a"))
        broker.refuse = {"e1"}

        for _ in range(3):
            with pytest.raises(BrokerError):
                await relay.publish_pending()

        assert (await outbox_rows(db))["e1"].attempts == 3

    async def test_rows_beyond_one_batch_wait_for_the_next_round(
        self,
        db: Database,
        clock: ManualClock,
        broker: FakeBroker,
        metrics: ServiceMetrics,
    ) -> None:
        relay = OutboxRelay(
            db, chassis.outbox, chassis.leases, broker.send, clock, metrics, batch_size=2
        )
        await write_events(db, clock, ("e1", "team-a"), ("e2", "team-a"), ("e3", "team-a"))

        assert await relay.publish_pending() == 2
        assert await pending_ids(db) == ["e3"]
        assert await relay.publish_pending() == 1
        assert broker.sent_ids() == ["e1", "e2", "e3"]


class TestOutboxOnSqlite(OnSqlite, OutboxContract):
    pass


class TestOutboxOnPostgres(OnPostgres, OutboxContract):
    pass


async def claim(session: AsyncSession, consumer: str, event_id: str) -> bool:
    fresh = await claim_events(
        session,
        chassis.inbox,
        consumer=consumer,
        events=[(event_id, EVENT_TYPE)],
        received_at=START,
    )
    return event_id in fresh


async def claim_alone(db: Database, consumer: str, event_id: str) -> bool:
    async with db.transaction() as session:
        return await claim(session, consumer, event_id)


async def inbox_keys(db: Database) -> set[tuple[str, str]]:
    i = chassis.inbox
    async with db.sessions() as session:
        return {(r.consumer, r.event_id) for r in await session.execute(select(i))}


class InboxContract(DatabaseContract):
    async def test_the_first_claim_of_an_event_succeeds_and_a_redelivery_is_refused(
        self, db: Database
    ) -> None:
        assert await claim_alone(db, "budget", "e1") is True
        assert await claim_alone(db, "budget", "e1") is False
        assert await inbox_keys(db) == {("budget", "e1")}

    async def test_claims_are_independent_per_consumer(self, db: Database) -> None:
        assert await claim_alone(db, "budget", "e1") is True
        assert await claim_alone(db, "milestones", "e1") is True
        assert await claim_alone(db, "milestones", "e1") is False

    async def test_a_duplicate_in_a_batch_leaves_the_rest_of_the_transaction_intact(
        self, db: Database
    ) -> None:
        await claim_alone(db, "budget", "e1")
        clock = ManualClock(START)

        async with db.transaction() as session:
            assert await claim(session, "budget", "e1") is False
            assert await claim(session, "budget", "e2") is True
            assert await claim(session, "budget", "e2") is False
            await write_event(session, clock, "effect-of-e2", "team-a")

        assert await inbox_keys(db) == {("budget", "e1"), ("budget", "e2")}
        assert list(await outbox_rows(db)) == ["effect-of-e2"]

    async def test_of_two_racing_claims_of_one_event_exactly_one_wins(self, db: Database) -> None:
        outcomes = await asyncio.gather(*(claim_alone(db, "budget", "e1") for _ in range(2)))

        assert sorted(outcomes) == [False, True]

    async def test_a_claim_rolled_back_with_its_effects_can_be_made_again(
        self, db: Database
    ) -> None:
        async def claim_then_fail(session: AsyncSession) -> None:
            await claim(session, "budget", "e1")

        with pytest.raises(WorkFailed):
            await fail_after(db, claim_then_fail)

        assert await claim_alone(db, "budget", "e1") is True


class TestInboxOnSqlite(OnSqlite, InboxContract):
    pass


class TestInboxOnPostgres(OnPostgres, InboxContract):
    pass


TTL = timedelta(seconds=15)


async def acquire(db: Database, holder: str, now: datetime, name: str = "relay") -> bool:
    return await acquire_lease(db, chassis.leases, name=name, holder=holder, now=now, ttl=TTL)


async def lease_row(db: Database, name: str = "relay") -> Row[Any]:
    leases = chassis.leases
    async with db.sessions() as session:
        return (await session.execute(select(leases).where(leases.c.name == name))).one()


class LeaseContract(DatabaseContract):
    async def test_a_free_lease_is_acquired_until_its_ttl_runs_out(self, db: Database) -> None:
        assert await acquire(db, "node-1", START) is True

        row = await lease_row(db)
        assert (row.holder, row.expires_at) == ("node-1", START + TTL)

    async def test_the_holder_renews_its_lease(self, db: Database) -> None:
        await acquire(db, "node-1", START)

        assert await acquire(db, "node-1", START + timedelta(seconds=10)) is True
        assert (await lease_row(db)).expires_at == START + timedelta(seconds=10) + TTL

    async def test_another_holder_is_refused_while_the_lease_is_live(self, db: Database) -> None:
        await acquire(db, "node-1", START)

        assert await acquire(db, "node-2", START + TTL - timedelta(seconds=1)) is False
        assert (await lease_row(db)).holder == "node-1"

    async def test_another_holder_takes_over_an_expired_lease(self, db: Database) -> None:
        await acquire(db, "node-1", START)
        later = START + TTL + timedelta(seconds=1)

        assert await acquire(db, "node-2", later) is True
        assert await acquire(db, "node-1", later) is False
        assert (await lease_row(db)).holder == "node-2"

    async def test_a_released_lease_is_free_for_another_holder_at_once(self, db: Database) -> None:
        await acquire(db, "node-1", START)

        await release_lease(db, chassis.leases, name="relay", holder="node-1")

        assert await acquire(db, "node-2", START + timedelta(seconds=1)) is True

    async def test_only_the_holder_can_release_a_lease(self, db: Database) -> None:
        await acquire(db, "node-1", START)

        await release_lease(db, chassis.leases, name="relay", holder="node-2")

        assert await acquire(db, "node-2", START + timedelta(seconds=1)) is False

    async def test_of_two_instances_racing_for_a_free_lease_exactly_one_wins(
        self, db: Database
    ) -> None:
        outcomes = await asyncio.gather(acquire(db, "node-1", START), acquire(db, "node-2", START))

        assert sorted(outcomes) == [False, True]
        assert (await lease_row(db)).holder == ("node-1" if outcomes[0] else "node-2")

    async def test_of_two_instances_racing_for_an_expired_lease_exactly_one_wins(
        self, db: Database
    ) -> None:
        await acquire(db, "node-0", START)
        later = START + TTL + timedelta(seconds=1)

        outcomes = await asyncio.gather(acquire(db, "node-1", later), acquire(db, "node-2", later))

        assert sorted(outcomes) == [False, True]

    async def test_leases_of_different_names_are_independent(self, db: Database) -> None:
        assert await acquire(db, "node-1", START, name="outbox-relay") is True
        assert await acquire(db, "node-2", START, name="overdue-scan") is True


class TestLeasesOnSqlite(OnSqlite, LeaseContract):
    pass


class TestLeasesOnPostgres(OnPostgres, LeaseContract):
    pass


class RecordingWork:
    """Work for run_idempotent that audits one change and answers 201, counting its runs."""

    def __init__(self, *, fail: bool = False) -> None:
        self.runs = 0
        self.fail = fail

    async def __call__(self, uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        self.runs += 1
        await uow.audit(
            "call.opened", "call", f"call-{self.runs}", before=None, after={"title": "CIMIS II"}
        )
        if self.fail:
            raise WorkFailed("failed after writing")
        return 201, {"id": f"call-{self.runs}", "title": "CIMIS II"}


async def count_rows(db: Database, table: Any) -> int:
    async with db.sessions() as session:
        count: int = (await session.execute(select(func.count()).select_from(table))).scalar_one()
    return count


class IdempotencyContract(DatabaseContract):
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(START)

    async def run(
        self,
        db: Database,
        clock: ManualClock,
        work: RecordingWork,
        *,
        key: str | None = "key-1",
        fingerprint: str = "fp-1",
        principal: str = "staff-1",
    ) -> tuple[int, dict[str, Any]]:
        return await run_idempotent(
            lambda: SqlUnitOfWork(
                db, chassis, clock=clock, source="cimis/test", cause=Cause(principal, "corr-1")
            ),
            principal=principal,
            key=key,
            fingerprint=fingerprint,
            work=work,
        )

    async def test_the_answer_is_stored_and_replayed_without_running_the_work_again(
        self, db: Database, clock: ManualClock
    ) -> None:
        work = RecordingWork()

        first = await self.run(db, clock, work)
        replay = await self.run(db, clock, work)

        assert first == replay == (201, {"id": "call-1", "title": "CIMIS II"})
        assert work.runs == 1
        assert await count_rows(db, chassis.audit_log) == 1
        keys = chassis.idempotency_keys
        async with db.sessions() as session:
            stored = (await session.execute(select(keys))).one()
        assert (stored.principal, stored.key, stored.request_hash) == ("staff-1", "key-1", "fp-1")
        assert json.loads(stored.response_body) == first[1]
        assert stored.created_at == START

    async def test_the_same_key_with_another_request_is_a_conflict(
        self, db: Database, clock: ManualClock
    ) -> None:
        work = RecordingWork()
        await self.run(db, clock, work, fingerprint="fp-1")

        with pytest.raises(Problem) as refused:
            await self.run(db, clock, work, fingerprint="fp-2")

        assert (refused.value.status, refused.value.slug) == (409, "idempotency-key-reused")
        assert work.runs == 1

    async def test_nothing_is_stored_when_the_work_raises(
        self, db: Database, clock: ManualClock
    ) -> None:
        with pytest.raises(WorkFailed):
            await self.run(db, clock, RecordingWork(fail=True))

        assert await count_rows(db, chassis.idempotency_keys) == 0
        assert await count_rows(db, chassis.audit_log) == 0
        retry = RecordingWork()
        assert await self.run(db, clock, retry) == (201, {"id": "call-1", "title": "CIMIS II"})
        assert retry.runs == 1

    async def test_keys_belong_to_their_principal(self, db: Database, clock: ManualClock) -> None:
        work = RecordingWork()

        await self.run(db, clock, work, principal="staff-1", fingerprint="fp-1")
        await self.run(db, clock, work, principal="staff-2", fingerprint="fp-2")

        assert work.runs == 2
        assert await count_rows(db, chassis.idempotency_keys) == 2

    async def test_without_a_key_the_work_runs_every_time_and_nothing_is_stored(
        self, db: Database, clock: ManualClock
    ) -> None:
        work = RecordingWork()

        await self.run(db, clock, work, key=None)
        await self.run(db, clock, work, key=None)

        assert work.runs == 2
        assert await count_rows(db, chassis.idempotency_keys) == 0


class TestIdempotencyOnSqlite(OnSqlite, IdempotencyContract):
    pass


class TestIdempotencyOnPostgres(OnPostgres, IdempotencyContract):
    pass


class AuditLogContract(DatabaseContract):
    async def test_an_entry_keeps_who_what_when_and_both_documents(self, db: Database) -> None:
        before = {"status": "proposed", "creatives": ["cr-1", "cr-2"], "budget_cents": 40_000_00}
        after = {"status": "accepted", "title": "Görlitzer Werkstatt", "reviewed": True}
        async with db.transaction() as session:
            await record_audit(
                session,
                chassis.audit_log,
                [
                    AuditEntry(
                        occurred_at=START,
                        actor="staff-1",
                        action="team.accepted",
                        entity_type="team",
                        entity_id="team-1",
                        before=before,
                        after=after,
                        correlation_id="corr-1",
                    )
                ],
            )

        async with db.sessions() as session:
            entry = (await session.execute(select(chassis.audit_log))).one()

        assert (entry.actor, entry.action, entry.entity_type, entry.entity_id) == (
            "staff-1",
            "team.accepted",
            "team",
            "team-1",
        )
        assert (entry.before, entry.after) == (before, after)
        assert (entry.occurred_at, entry.correlation_id) == (START, "corr-1")

    async def test_an_entry_of_a_rolled_back_change_is_not_kept(self, db: Database) -> None:
        async def audit_then_fail(session: AsyncSession) -> None:
            await record_audit(
                session,
                chassis.audit_log,
                [
                    AuditEntry(
                        occurred_at=START,
                        actor="staff-1",
                        action="call.opened",
                        entity_type="call",
                        entity_id="call-1",
                        before=None,
                        after={"title": "CIMIS II"},
                        correlation_id=None,
                    )
                ],
            )

        with pytest.raises(WorkFailed):
            await fail_after(db, audit_then_fail)

        assert await count_rows(db, chassis.audit_log) == 0


class TestAuditLogOnSqlite(OnSqlite, AuditLogContract):
    pass


class TestAuditLogOnPostgres(OnPostgres, AuditLogContract):
    pass


class UtcDateTimeContract(DatabaseContract):
    async def test_a_naive_datetime_is_refused(self, db: Database) -> None:
        naive = datetime(2024, 8, 1, 10, 0)

        with pytest.raises(StatementError) as refused:
            async with db.transaction() as session:
                await session.execute(
                    insert(chassis.leases).values(name="relay", holder="node-1", expires_at=naive)
                )

        assert isinstance(refused.value.orig, ValueError)
        assert await count_rows(db, chassis.leases) == 0

    async def test_an_aware_datetime_comes_back_as_the_same_instant_in_utc(
        self, db: Database
    ) -> None:
        berlin = datetime(2024, 9, 20, 23, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Berlin"))
        async with db.transaction() as session:
            await session.execute(
                insert(chassis.leases).values(name="relay", holder="node-1", expires_at=berlin)
            )

        stored = (await lease_row(db)).expires_at

        assert stored == berlin
        assert stored.tzinfo is UTC
        assert stored == datetime(2024, 9, 20, 21, 59, 59, 999999, tzinfo=UTC)

    async def test_comparisons_in_queries_order_instants_not_wall_clock_strings(
        self, db: Database
    ) -> None:
        # 11:30 in Berlin is 09:30 UTC: earlier than 10:00 UTC, though its wall clock is later.
        berlin_morning = datetime(2024, 8, 1, 11, 30, tzinfo=ZoneInfo("Europe/Berlin"))
        async with db.transaction() as session:
            await session.execute(
                insert(chassis.leases).values(
                    name="relay", holder="node-1", expires_at=berlin_morning
                )
            )

        leases = chassis.leases
        async with db.sessions() as session:
            expired = (
                (
                    await session.execute(
                        select(leases.c.name).where(
                            leases.c.expires_at < datetime(2024, 8, 1, 10, 0, tzinfo=UTC)
                        )
                    )
                )
                .scalars()
                .all()
            )

        assert expired == ["relay"]


class TestUtcDateTimeOnSqlite(OnSqlite, UtcDateTimeContract):
    pass


class TestUtcDateTimeOnPostgres(OnPostgres, UtcDateTimeContract):
    pass
