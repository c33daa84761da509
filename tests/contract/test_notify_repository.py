"""Notify's repositories keep one contract in memory, on SQLite and on PostgreSQL.

Each ``...Contract`` class holds the behaviour; it runs once per backend through the ``unit``
fixture (a fresh unit of work on an empty store). What only a database has (the schema, the
API's list queries, concurrent claimers, statements per batch) is ``NotifySqlContract``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, update

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.keyset import Page
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1
from cimis_contracts.notify import NotificationDeliveredV1, NotificationFailedV1
from services.notify.adapters.queries import NotifyQueries
from services.notify.adapters.tables import chassis, deliveries, metadata
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.unit_of_work import MemoryNotifyUnitOfWork, SqlNotifyUnitOfWork
from services.notify.app import deliveries as outcomes
from services.notify.app.alerts import Alerts, StaffMailbox
from services.notify.app.ports import DueDelivery
from services.notify.domain.alerts import TeamContact
from services.notify.domain.delivery import (
    DELIVERED,
    EMAIL,
    FAILED,
    INBOX,
    PENDING,
    WEBHOOK,
    RetryPolicy,
    Route,
)
from services.notify.domain.formatting import BERLIN
from services.notify.domain.notifications import Notification, plan_deliveries
from tests.contract.databases import OnPostgres, OnSqlite, ServiceSchemaContract
from tests.contract.races import race_two_instances
from tests.unit.notify.builders import (
    NOW,
    a_notification,
    an_agent,
    envelope,
    expense_rejected,
    milestone_overdue,
    quiet,
    team_accepted,
    threshold_crossed,
)

ROUTES = [Route(INBOX, None), Route(EMAIL, "anna@example.org"), Route(WEBHOOK, "https://x.test/h")]
POLICY = RetryPolicy(base_seconds=60, factor=2, max_seconds=3600, max_attempts=3)

Unit = SqlNotifyUnitOfWork | MemoryNotifyUnitOfWork


def sql_unit(db: Database, clock: ManualClock) -> SqlNotifyUnitOfWork:
    return SqlNotifyUnitOfWork(
        db, chassis, clock=clock, source="cimis/notify", cause=Cause("contract", "corr", "ev")
    )


class Backend:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(NOW)

    @pytest.fixture
    def unit(self, *args: Any) -> Unit:
        raise NotImplementedError("a backend gives a fresh unit of work")


class InMemory(Backend):
    @pytest.fixture
    def unit(self, clock: ManualClock) -> Unit:
        return MemoryNotifyUnitOfWork(clock=clock)


class InDatabase(Backend):
    @pytest.fixture
    def unit(self, db: Database, clock: ManualClock) -> Unit:
        return sql_unit(db, clock)


async def store(
    unit: Unit, notification: Notification, routes: Sequence[Route] = ROUTES, at: datetime = NOW
) -> None:
    async with unit as uow:
        assert await uow.notifications.add(notification)
        await uow.deliveries.add(plan_deliveries(notification, routes, None, at))


async def claim(unit: Unit, holder: str, now: datetime = NOW, limit: int = 10) -> list[DueDelivery]:
    async with unit as uow:
        return await uow.deliveries.claim_due(
            holder=holder, now=now, until=now + timedelta(minutes=2), limit=limit
        )


class AgentsContract(Backend):
    async def test_an_agent_comes_back_as_stored_with_its_quiet_hours(self, unit: Unit) -> None:
        created = datetime(2025, 3, 4, 11, 15, 0, 123456, tzinfo=BERLIN)
        agent = an_agent(
            "anna",
            webhook_url="https://chat.example.org/hooks/abc",
            quiet_hours=quiet("20:00", "07:00"),
            language="en",
            created_at=created,
            updated_at=created,
        )
        async with unit as uow:
            await uow.agents.add(agent)
            assert await uow.agents.get("anna") == agent

        async with unit as uow:
            assert await uow.agents.get("anna") == agent

    async def test_an_agent_is_replaced_in_place(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.agents.add(an_agent("anna"))
        changed = an_agent("anna", email="new@example.org", quiet_hours=None, language="en")
        async with unit as uow:
            assert await uow.agents.get("anna", lock=True) == an_agent("anna")
            await uow.agents.update(changed)

        async with unit as uow:
            await uow.agents.load(["anna", "nobody"])
            assert await uow.agents.get("anna") == changed
            assert await uow.agents.get("nobody") is None


class TeamsContract(Backend):
    async def test_a_team_is_stored_and_overwritten_by_a_later_acceptance(self, unit: Unit) -> None:
        first = TeamContact("team-1", "call-1", "Alt", "anna")
        second = TeamContact("team-1", "call-1", "Neu", "ben")
        async with unit as uow:
            await uow.teams.save(first, accepted_at=NOW)
        async with unit as uow:
            await uow.teams.load(["team-1", "team-2"])
            assert await uow.teams.get("team-1") == first
            await uow.teams.save(second, accepted_at=NOW + timedelta(days=1))
            assert await uow.teams.get("team-1") == second

        async with unit as uow:
            assert await uow.teams.get("team-1") == second
            assert await uow.teams.get("team-2") is None

    async def test_a_team_saved_twice_in_one_unit_keeps_the_last(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.teams.save(TeamContact("team-1", "call-1", "Alt", "anna"), accepted_at=NOW)
            await uow.teams.save(TeamContact("team-1", "call-1", "Neu", "ben"), accepted_at=NOW)

        async with unit as uow:
            team = await uow.teams.get("team-1")
        assert team is not None
        assert (team.title, team.agent_id) == ("Neu", "ben")

    async def test_a_reassigned_team_belongs_to_its_new_agent(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.teams.save(TeamContact("team-1", "call-1", "T", "anna"), accepted_at=NOW)
            await uow.teams.save(TeamContact("team-2", "call-1", "U", "anna"), accepted_at=NOW)
            await uow.teams.reassign("team-2", "ben")  # saved in this very unit
        async with unit as uow:
            await uow.teams.reassign("team-1", "carla")
            assert await uow.teams.get("team-1") == TeamContact("team-1", "call-1", "T", "carla")

        async with unit as uow:
            await uow.teams.load(["team-1", "team-2"])
            assert [(await uow.teams.get(t)) for t in ("team-1", "team-2")] == [
                TeamContact("team-1", "call-1", "T", "carla"),
                TeamContact("team-2", "call-1", "U", "ben"),
            ]


class ParkedEventsContract(Backend):
    async def test_parked_events_come_back_in_arrival_order_once(self, unit: Unit) -> None:
        events = [envelope(threshold_crossed("team-1", threshold_percent=p)) for p in (50, 80, 100)]
        other = envelope(threshold_crossed("team-2"))
        async with unit as uow:
            for event in [events[0], other, events[1], events[0]]:
                await uow.parked_events.park(event.subject or "", event, now=NOW)
        async with unit as uow:
            # One parked by an earlier unit, one by this one: both wait, once, in order.
            await uow.parked_events.park("team-1", events[0], now=NOW)
            await uow.parked_events.park("team-1", events[2], now=NOW)
            assert [e.id for e in await uow.parked_events.load(["team-1"])] == [
                e.id for e in events
            ]

        async with unit as uow:
            taken = await uow.parked_events.take("team-1")
        async with unit as uow:
            assert await uow.parked_events.take("team-1") == []
            assert await uow.parked_events.take("team-2") == [other]

        assert [e.id for e in taken] == [e.id for e in events]
        assert taken[1] == events[1]

    async def test_events_parked_and_taken_in_one_unit_are_never_kept(self, unit: Unit) -> None:
        early = envelope(expense_rejected("team-1"))
        async with unit as uow:
            await uow.parked_events.park("team-1", early, now=NOW)
            assert await uow.parked_events.take("team-1") == [early]

        async with unit as uow:
            assert await uow.parked_events.load(["team-1"]) == []


class NotificationsContract(Backend):
    async def test_one_notification_per_event_and_recipient(self, unit: Unit) -> None:
        await store(unit, a_notification("n-1"))

        async with unit as uow:
            again = await uow.notifications.add(a_notification("n-2", event_id="event-n-1"))
            staff = await uow.notifications.add(
                a_notification("n-3", event_id="event-n-1", recipient="staff")
            )
            staff_again = await uow.notifications.add(
                a_notification("n-4", event_id="event-n-1", recipient="staff")
            )

        assert (again, staff, staff_again) == (False, True, False)
        async with unit as uow:
            await uow.notifications.load_raised_by(["event-n-1"])
            assert not await uow.notifications.add(a_notification("n-5", event_id="event-n-1"))
            assert await uow.notifications.get("n-2") is None
            assert await uow.notifications.get("n-1") == a_notification("n-1")

    async def test_a_read_time_is_kept(self, unit: Unit) -> None:
        await store(unit, a_notification("n-1"))

        async with unit as uow:
            found = await uow.notifications.get("n-1", lock=True)
            assert found is not None
            await uow.notifications.update(replace(found, read_at=NOW + timedelta(hours=1)))

        async with unit as uow:
            read = await uow.notifications.get("n-1")
        assert read == a_notification("n-1", read_at=NOW + timedelta(hours=1))

    async def test_a_unit_that_fails_keeps_nothing(self, unit: Unit) -> None:
        class Fails(Exception):
            pass

        async def store_then_fail() -> None:
            async with unit as uow:
                await uow.notifications.add(a_notification("n-1"))
                await uow.deliveries.add(plan_deliveries(a_notification("n-1"), ROUTES, None, NOW))
                await uow.teams.save(TeamContact("team-1", "call-1", "T", "anna"), accepted_at=NOW)
                raise Fails

        with pytest.raises(Fails):
            await store_then_fail()

        async with unit as uow:
            assert await uow.notifications.get("n-1") is None
            assert await uow.deliveries.of(["n-1"]) == {"n-1": []}
            assert await uow.teams.get("team-1") is None


class DeliveriesContract(Backend):
    async def test_deliveries_come_back_per_notification_in_channel_order(self, unit: Unit) -> None:
        await store(unit, a_notification("n-1"))

        async with unit as uow:
            found = await uow.deliveries.of(["n-1", "n-unknown"])

        assert [(d.channel, d.status, d.attempts) for d in found["n-1"]] == [
            (INBOX, DELIVERED, 1),
            (EMAIL, PENDING, 0),
            (WEBHOOK, PENDING, 0),
        ]
        assert found["n-unknown"] == []

    async def test_deliveries_added_in_a_unit_are_seen_in_it(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.notifications.add(a_notification("n-1"))
            await uow.deliveries.add(plan_deliveries(a_notification("n-1"), ROUTES, None, NOW))
            found = await uow.deliveries.of(["n-1"])

        assert [d.channel for d in found["n-1"]] == [INBOX, EMAIL, WEBHOOK]
        assert all(d.id is not None for d in found["n-1"])

    async def test_a_claim_takes_due_deliveries_and_hides_them_from_others(
        self, unit: Unit
    ) -> None:
        await store(unit, a_notification("n-1"))
        await store(unit, a_notification("later", event_id="e2"), at=NOW + timedelta(hours=1))

        mine = await claim(unit, "worker-a")
        theirs = await claim(unit, "worker-b")

        assert sorted(d.delivery.channel for d in mine) == [EMAIL, WEBHOOK]
        assert {d.notification.id for d in mine} == {"n-1"}
        assert theirs == []
        [email] = [d for d in mine if d.delivery.channel == EMAIL]
        assert email.delivery.target == "anna@example.org"
        assert email.notification == a_notification("n-1")
        assert email.quiet_hours is None

    async def test_an_expired_claim_can_be_taken_over_and_the_old_holder_cannot_settle(
        self, unit: Unit
    ) -> None:
        await store(unit, a_notification("n-1"), [Route(INBOX, None), Route(EMAIL, "a@b.cd")])
        [first] = await claim(unit, "worker-a")

        [taken_over] = await claim(unit, "worker-b", now=NOW + timedelta(minutes=3))
        assert first.delivery.id is not None
        async with unit as uow:
            lost = await uow.deliveries.settle(
                first.delivery.id, holder="worker-a", status=DELIVERED
            )
            won = await uow.deliveries.settle(
                first.delivery.id, holder="worker-b", status=DELIVERED
            )
            again = await uow.deliveries.settle(
                first.delivery.id, holder="worker-b", status=DELIVERED
            )

        assert taken_over.delivery.id == first.delivery.id
        assert (lost, won, again) == (False, True, False)
        async with unit as uow:
            [_, email] = (await uow.deliveries.of(["n-1"]))["n-1"]
        assert email.status == DELIVERED

    async def test_released_claims_are_free_again_at_once(self, unit: Unit) -> None:
        await store(unit, a_notification("n-1"))
        mine = await claim(unit, "worker-a")

        async with unit as uow:
            await uow.deliveries.release([d.delivery.id for d in mine if d.delivery.id], holder="x")
        assert await claim(unit, "worker-b") == []
        async with unit as uow:
            await uow.deliveries.release(
                [d.delivery.id for d in mine if d.delivery.id], holder="worker-a"
            )

        assert len(await claim(unit, "worker-b")) == 2

    async def test_the_claim_carries_the_recipients_current_quiet_hours(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.agents.add(an_agent("anna", quiet_hours=quiet("22:00", "06:00")))
        await store(unit, a_notification("n-1"), [Route(EMAIL, "a@b.cd")])

        [due] = await claim(unit, "worker-a")

        assert due.quiet_hours == quiet("22:00", "06:00")

    # outcomes, with their events, through the unit of work

    async def record(self, unit: Unit, work: Any) -> tuple[str, list[str]]:
        async with unit as uow:
            outcome = await work(uow)
            emitted = [e.type for e in uow.emitted]
        return outcome, emitted

    async def test_a_permanent_failure_fails_the_delivery_and_publishes_it(
        self, unit: Unit
    ) -> None:
        await store(unit, a_notification("n-1"), [Route(EMAIL, "a@b.cd")])
        [due] = await claim(unit, "w")

        outcome, emitted = await self.record(
            unit,
            lambda uow: outcomes.record_failure(
                uow, due, holder="w", error="550 no such user", permanent=True, policy=POLICY
            ),
        )

        assert (outcome, emitted) == (outcomes.FAILED_OUTCOME, [NotificationFailedV1.TYPE])
        async with unit as uow:
            [failed] = (await uow.deliveries.of(["n-1"]))["n-1"]
        assert (failed.status, failed.attempts, failed.last_error) == (
            FAILED,
            1,
            "550 no such user",
        )
        assert await claim(unit, "w", now=NOW + timedelta(days=1)) == []

    async def test_a_transient_failure_is_rescheduled_without_an_event(self, unit: Unit) -> None:
        await store(unit, a_notification("n-1"), [Route(EMAIL, "a@b.cd")])
        [due] = await claim(unit, "w")

        outcome, emitted = await self.record(
            unit,
            lambda uow: outcomes.record_failure(
                uow, due, holder="w", error="timeout", permanent=False, policy=POLICY
            ),
        )

        assert (outcome, emitted) == (outcomes.RETRIED, [])
        async with unit as uow:
            [row] = (await uow.deliveries.of(["n-1"]))["n-1"]
        assert (row.status, row.attempts) == (PENDING, 1)
        assert row.next_attempt_at == NOW + timedelta(seconds=60)
        assert await claim(unit, "w") == []
        assert len(await claim(unit, "w", now=NOW + timedelta(seconds=60))) == 1

    async def test_a_success_delivers_once_and_publishes_it(self, unit: Unit) -> None:
        await store(unit, a_notification("n-1"), [Route(EMAIL, "a@b.cd")])
        [due] = await claim(unit, "w")

        first = await self.record(unit, lambda uow: outcomes.record_delivered(uow, due, holder="w"))
        second = await self.record(
            unit, lambda uow: outcomes.record_delivered(uow, due, holder="w")
        )

        assert first == (outcomes.DELIVERED_OUTCOME, [NotificationDeliveredV1.TYPE])
        assert second == (outcomes.LOST_CLAIM, [])


class NotifyContract(
    AgentsContract, TeamsContract, ParkedEventsContract, NotificationsContract, DeliveriesContract
):
    pass


class TestNotifyInMemory(InMemory, NotifyContract):
    pass


# --- what only the databases have ------------------------------------------------------------


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa_event.remove(db.engine.sync_engine, "before_cursor_execute", before)


class NotifySqlContract(InDatabase, NotifyContract, ServiceSchemaContract):
    metadata = metadata
    service = "notify"

    @pytest.fixture
    async def queries(self, db: Database) -> AsyncIterator[NotifyQueries]:
        async with db.sessions() as session:
            yield NotifyQueries(session)

    async def test_times_come_back_in_utc(self, unit: Unit, db: Database) -> None:
        created = datetime(2025, 3, 4, 11, 15, tzinfo=BERLIN)
        async with unit as uow:
            await uow.agents.add(an_agent("anna", created_at=created, updated_at=created))

        async with db.sessions() as session:
            loaded = await NotifyQueries(session).agent("anna")

        assert loaded is not None
        assert loaded.created_at == created
        assert loaded.created_at.tzinfo is UTC

    async def test_agents_are_listed_in_creation_order(self, unit: Unit, db: Database) -> None:
        async with unit as uow:
            await uow.agents.add(an_agent("ben", created_at=NOW + timedelta(minutes=1)))
            await uow.agents.add(an_agent("anna"))

        async with db.sessions() as session:
            listed = await NotifyQueries(session).agents(Page(None, 10))
        assert [a.id for a in listed] == ["anna", "ben"]

    async def test_notifications_are_listed_per_recipient_oldest_first_across_pages(
        self, unit: Unit, db: Database
    ) -> None:
        for i, recipient in enumerate(["anna", "ben", "anna", "anna", "staff"]):
            n = a_notification(f"n-{i}", recipient=recipient, created_at=NOW + timedelta(minutes=i))
            await store(unit, n)

        pages: list[list[str]] = []
        after = None
        async with db.sessions() as session:
            queries = NotifyQueries(session)
            while True:
                page = await queries.notifications(Page(after, 2), recipient="anna", status=None)
                pages.append([n.id for n in page])
                if len(page) < 2:
                    break
                after = (page[-1].created_at, page[-1].id)
            everyone = await queries.notifications(Page(None, 50), recipient=None, status=None)

        assert pages == [["n-0", "n-2"], ["n-3"]]
        assert len(everyone) == 5

    async def test_status_filters_read_state_and_channel_state(
        self, unit: Unit, db: Database
    ) -> None:
        await store(unit, a_notification("all-done"), [Route(INBOX, None)])
        await store(unit, a_notification("waiting", event_id="e2"))
        await store(unit, a_notification("broken", event_id="e3"))
        async with db.transaction() as session:
            await session.execute(
                update(deliveries)
                .where(deliveries.c.notification_id == "broken", deliveries.c.channel == EMAIL)
                .values(status=FAILED)
            )
        async with unit as uow:
            read = await uow.notifications.get("waiting")
            assert read is not None
            await uow.notifications.update(replace(read, read_at=NOW))

        async def ids(status: str) -> set[str]:
            async with db.sessions() as session:
                found = await NotifyQueries(session).notifications(
                    Page(None, 50), recipient="anna", status=status
                )
            return {n.id for n in found}

        assert await ids("read") == {"waiting"}
        assert await ids("unread") == {"all-done", "broken"}
        assert await ids("delivered") == {"all-done"}
        assert await ids("pending") == {"waiting"}
        assert await ids("failed") == {"broken"}

    async def test_the_gauges_count_pending_deliveries_and_parked_events(
        self, unit: Unit, db: Database
    ) -> None:
        await store(unit, a_notification("n-1"))
        await store(
            unit,
            a_notification("n-2", event_id="e2"),
            [Route(INBOX, None), Route(EMAIL, "x@y.z")],
        )
        async with unit as uow:
            await uow.parked_events.park("team-9", envelope(threshold_crossed("team-9")), now=NOW)

        async with db.sessions() as session:
            queries = NotifyQueries(session)
            assert await queries.pending_by_channel() == {EMAIL: 2, WEBHOOK: 1}
            assert await queries.count_parked() == 1
            assert [d.channel for d in (await queries.deliveries_of(["n-2"]))["n-2"]] == [
                INBOX,
                EMAIL,
            ]

    async def test_concurrent_claimers_never_share_a_delivery(
        self, unit: Unit, db: Database, clock: ManualClock
    ) -> None:
        for i in range(12):
            await store(unit, a_notification(f"n-{i}", event_id=f"e-{i}"))

        batches = await asyncio.gather(
            *(claim(sql_unit(db, clock), f"worker-{w}", limit=7) for w in range(4))
        )

        claimed = [d.delivery.id for batch in batches for d in batch]
        assert len(claimed) == len(set(claimed)) == 24

    async def test_an_outcomes_event_reaches_the_outbox_keyed_by_team(
        self, unit: Unit, db: Database
    ) -> None:
        await store(unit, a_notification("n-1"), [Route(EMAIL, "a@b.cd")])
        [due] = await claim(unit, "w")

        async with unit as uow:
            await outcomes.record_failure(
                uow, due, holder="w", error="550 no such user", permanent=True, policy=POLICY
            )

        async with db.sessions() as session:
            [row] = (await session.execute(select(deliveries))).all()
            [published] = (await session.execute(select(chassis.outbox))).all()
        assert row.claimed_by is None
        data = json.loads(published.payload)["data"]
        assert (data["channel"], data["attempts"], data["error"]) == (EMAIL, 1, "550 no such user")
        assert published.key == "team-1"

    async def test_a_batch_reads_each_table_once_and_writes_each_once(
        self, unit: Unit, db: Database
    ) -> None:
        async with unit as uow:
            for i in range(0, 40, 2):
                await uow.agents.add(an_agent(f"agent-{i}"))
            for i in range(20):
                await uow.teams.save(
                    TeamContact(f"team-{i}", "call-1", "T", f"agent-{i}"), accepted_at=NOW
                )
        alerts = Alerts(TemplateRenderer(), StaffMailbox("office@example.org", "de"))
        payloads = (
            [threshold_crossed(f"team-{20 + i}") for i in range(10)]  # early: parked, released
            + [team_accepted(f"team-{20 + i}", agent_id=f"agent-{20 + i}") for i in range(20)]
            + [expense_rejected(f"team-{i % 40}", expense_id=f"x-{i}") for i in range(170)]
        )
        batch = [(p, envelope(p)) for p in payloads]

        with counted(db) as statements:
            async with unit as uow:
                await alerts.prepare(uow, batch)
                for payload, event in batch:
                    uow.caused_by(Cause(f"event:{event.id}", event.id, event.id))
                    if payload.TYPE == team_accepted("t").TYPE:
                        await alerts.on_team_accepted(uow, payload, event)  # type: ignore[arg-type]
                    else:
                        await alerts.on_team_event(uow, payload, event)

        # Reads: teams, parked events, agents, earlier notifications. Writes: teams,
        # notifications, deliveries, audit log, outbox (the early events were parked and taken
        # in this one unit, so they are never written).
        assert statements.count("INSERT") == 5, statements
        assert statements.count("UPDATE") + statements.count("DELETE") == 0, statements
        async with db.sessions() as session:
            queries = NotifyQueries(session)
            assert (
                len(await queries.notifications(Page(None, 500), recipient=None, status=None))
                == 200
            )
            assert await queries.count_parked() == 0

    @pytest.mark.parametrize("first", ["team", "event"])
    async def test_a_team_and_its_early_event_applied_at_once_by_two_instances_meet(
        self, db: Database, database_url: str, clock: ManualClock, first: str
    ) -> None:
        # A team's acceptance and its milestone's alert come on different topics, so two
        # instances may apply them at the same moment; the alert must not stay parked.
        alerts = Alerts(TemplateRenderer(), StaffMailbox("office@example.org", "de"))
        async with sql_unit(db, clock) as uow:
            await uow.agents.add(an_agent("anna"))
        accepted, overdue = team_accepted("team-1", agent_id="anna"), milestone_overdue("team-1")

        async def apply(uow: SqlNotifyUnitOfWork, payload: EventData) -> None:
            batch = [(payload, envelope(payload))]
            await alerts.prepare(uow, batch)
            if isinstance(payload, TeamAcceptedV1):
                await alerts.on_team_accepted(uow, payload, batch[0][1])
            else:
                await alerts.on_team_event(uow, payload, batch[0][1])

        held, rival = (accepted, overdue) if first == "team" else (overdue, accepted)
        await race_two_instances(
            db,
            database_url,
            lambda d: sql_unit(d, clock),
            lambda uow: apply(uow, held),
            lambda uow: apply(uow, rival),
        )
        async with db.sessions() as session:
            queries = NotifyQueries(session)
            assert await queries.count_parked() == 0, "an alert parked for a team that is known"
            kinds = {
                n.kind
                for n in await queries.notifications(Page(None, 50), recipient=None, status=None)
            }
        assert {"team_assigned", "milestone_overdue"} <= kinds


class TestNotifyOnSqlite(OnSqlite, NotifySqlContract):
    pass


class TestNotifyOnPostgres(OnPostgres, NotifySqlContract):
    pass
