"""Agents, teams, parked events, notifications and delivery claims act alike on both databases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.keyset import Page
from cimis_chassis.unit_of_work import Cause, UnitOfWork
from cimis_contracts.notify import NotificationDeliveredV1, NotificationFailedV1
from services.notify.adapters.repository import DueDelivery, NotifyRepository
from services.notify.adapters.tables import chassis, deliveries, metadata
from services.notify.app import deliveries as outcomes
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
from tests.unit.notify.builders import NOW, an_agent, envelope, quiet, threshold_crossed

ROUTES = [Route(INBOX, None), Route(EMAIL, "anna@example.org"), Route(WEBHOOK, "https://x.test/h")]
POLICY = RetryPolicy(base_seconds=60, factor=2, max_seconds=3600, max_attempts=3)


def a_notification(ident: str, **overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "id": ident,
        "event_id": f"event-{ident}",
        "recipient": "anna",
        "team_id": "team-1",
        "kind": "threshold_crossed",
        "title": f"Titel {ident}",
        "body": "Text mit Umlauten: äöü ß €",
        "language": "de",
        "correlation_id": f"corr-{ident}",
        "created_at": NOW,
    }
    return Notification(**(fields | overrides))


class NotifyRepositoryContract(ServiceSchemaContract):
    metadata = metadata
    service = "notify"

    async def store(
        self,
        db: Database,
        notification: Notification,
        routes: Sequence[Route] = ROUTES,
        *,
        at: datetime = NOW,
    ) -> None:
        async with db.transaction() as session:
            repo = NotifyRepository(session)
            assert await repo.add_notification(notification)
            await repo.add_deliveries(plan_deliveries(notification, routes, None, at))

    async def claim(
        self, db: Database, holder: str, now: datetime = NOW, limit: int = 10
    ) -> list[DueDelivery]:
        async with db.transaction() as session:
            return await NotifyRepository(session).claim_due(
                holder=holder, now=now, until=now + timedelta(minutes=2), limit=limit
            )

    # agents and teams

    async def test_an_agent_comes_back_with_quiet_hours_and_utc_times(self, db: Database) -> None:
        created = datetime(2025, 3, 4, 11, 15, 0, 123456, tzinfo=BERLIN)
        agent = an_agent(
            "anna",
            webhook_url="https://chat.example.org/hooks/abc",
            quiet_hours=quiet("20:00", "07:00"),
            language="en",
            created_at=created,
            updated_at=created,
        )
        async with db.transaction() as session:
            await NotifyRepository(session).save_agent(agent, is_new=True)

        async with db.sessions() as session:
            loaded = await NotifyRepository(session).get_agent("anna")

        assert loaded == agent
        assert loaded is not None
        assert loaded.created_at.tzinfo is UTC

    async def test_an_agent_is_replaced_in_place(self, db: Database) -> None:
        async with db.transaction() as session:
            await NotifyRepository(session).save_agent(an_agent("anna"), is_new=True)
        changed = an_agent("anna", email="new@example.org", quiet_hours=None, language="en")
        async with db.transaction() as session:
            await NotifyRepository(session).save_agent(changed, is_new=False)

        async with db.sessions() as session:
            repo = NotifyRepository(session)
            assert await repo.get_agent("anna") == changed
            assert await repo.get_agent("nobody") is None
            assert [a.id for a in await repo.list_agents(Page(None, 10))] == ["anna"]

    async def test_a_team_is_stored_and_overwritten_by_a_later_acceptance(
        self, db: Database
    ) -> None:
        first = TeamContact("team-1", "call-1", "Alt", "anna")
        second = TeamContact("team-1", "call-1", "Neu", "ben")
        async with db.transaction() as session:
            await NotifyRepository(session).save_team(first, accepted_at=NOW)
        async with db.transaction() as session:
            await NotifyRepository(session).save_team(second, accepted_at=NOW)

        async with db.sessions() as session:
            repo = NotifyRepository(session)
            assert await repo.get_team("team-1") == second
            assert await repo.get_team("team-2") is None

    # parked events

    async def test_parked_events_come_back_in_arrival_order_once(self, db: Database) -> None:
        events = [envelope(threshold_crossed("team-1", threshold_percent=p)) for p in (50, 80, 100)]
        other = envelope(threshold_crossed("team-2"))
        async with db.transaction() as session:
            repo = NotifyRepository(session)
            for event in [events[0], other, events[1], events[0], events[2]]:
                await repo.park(event.subject or "", event, now=NOW)

        async with db.transaction() as session:
            repo = NotifyRepository(session)
            taken = await repo.take_parked("team-1")
            assert await repo.count_parked() == 1
        async with db.transaction() as session:
            assert await NotifyRepository(session).take_parked("team-1") == []

        assert [e.id for e in taken] == [e.id for e in events]
        assert taken[1] == events[1]

    # notifications

    async def test_one_notification_per_event_and_recipient(self, db: Database) -> None:
        await self.store(db, a_notification("n-1"))

        async with db.transaction() as session:
            repo = NotifyRepository(session)
            again = await repo.add_notification(a_notification("n-2", event_id="event-n-1"))
            staff = await repo.add_notification(
                a_notification("n-3", event_id="event-n-1", recipient="staff")
            )

        assert (again, staff) == (False, True)
        async with db.sessions() as session:
            repo = NotifyRepository(session)
            assert await repo.get_notification("n-2") is None
            loaded = await repo.get_notification("n-1")
        assert loaded == a_notification("n-1")

    async def test_deliveries_come_back_per_notification_in_channel_order(
        self, db: Database
    ) -> None:
        await self.store(db, a_notification("n-1"))

        async with db.sessions() as session:
            found = await NotifyRepository(session).deliveries_of(["n-1", "n-unknown"])

        assert [(d.channel, d.status, d.attempts) for d in found["n-1"]] == [
            (INBOX, DELIVERED, 1),
            (EMAIL, PENDING, 0),
            (WEBHOOK, PENDING, 0),
        ]
        assert found["n-unknown"] == []

    async def test_notifications_are_listed_per_recipient_oldest_first_across_pages(
        self, db: Database
    ) -> None:
        for i, recipient in enumerate(["anna", "ben", "anna", "anna", "staff"]):
            n = a_notification(f"n-{i}", recipient=recipient, created_at=NOW + timedelta(minutes=i))
            await self.store(db, n)

        pages: list[list[str]] = []
        after = None
        async with db.sessions() as session:
            repo = NotifyRepository(session)
            while True:
                page = await repo.list_notifications(Page(after, 2), recipient="anna", status=None)
                pages.append([n.id for n in page])
                if len(page) < 2:
                    break
                after = (page[-1].created_at, page[-1].id)
            everyone = await repo.list_notifications(Page(None, 50), recipient=None, status=None)

        assert pages == [["n-0", "n-2"], ["n-3"]]
        assert len(everyone) == 5

    async def test_status_filters_read_state_and_channel_state(self, db: Database) -> None:
        await self.store(db, a_notification("all-done"), [Route(INBOX, None)])
        await self.store(db, a_notification("waiting", event_id="e2"))
        await self.store(db, a_notification("broken", event_id="e3"))
        async with db.transaction() as session:
            await session.execute(
                update(deliveries)
                .where(deliveries.c.notification_id == "broken", deliveries.c.channel == EMAIL)
                .values(status=FAILED)
            )
            repo = NotifyRepository(session)
            read = await repo.get_notification("waiting")
            assert read is not None
            await repo.save_read(replace(read, read_at=NOW))

        async def ids(status: str) -> set[str]:
            async with db.sessions() as session:
                found = await NotifyRepository(session).list_notifications(
                    Page(None, 50), recipient="anna", status=status
                )
            return {n.id for n in found}

        assert await ids("read") == {"waiting"}
        assert await ids("unread") == {"all-done", "broken"}
        assert await ids("delivered") == {"all-done"}
        assert await ids("pending") == {"waiting"}
        assert await ids("failed") == {"broken"}

    # claims

    async def test_a_claim_takes_due_deliveries_and_hides_them_from_others(
        self, db: Database
    ) -> None:
        await self.store(db, a_notification("n-1"))
        await self.store(db, a_notification("later", event_id="e2"), at=NOW + timedelta(hours=1))

        mine = await self.claim(db, "worker-a")
        theirs = await self.claim(db, "worker-b")

        assert sorted(d.delivery.channel for d in mine) == [EMAIL, WEBHOOK]
        assert {d.notification.id for d in mine} == {"n-1"}
        assert theirs == []
        [email] = [d for d in mine if d.delivery.channel == EMAIL]
        assert email.delivery.target == "anna@example.org"
        assert email.notification == a_notification("n-1")
        assert email.quiet_hours is None

    async def test_an_expired_claim_can_be_taken_over_and_the_old_holder_cannot_settle(
        self, db: Database
    ) -> None:
        await self.store(db, a_notification("n-1"), [Route(INBOX, None), Route(EMAIL, "a@b.cd")])
        [first] = await self.claim(db, "worker-a")

        [taken_over] = await self.claim(db, "worker-b", now=NOW + timedelta(minutes=3))
        async with db.transaction() as session:
            repo = NotifyRepository(session)
            assert first.delivery.id is not None
            lost = await repo.settle(first.delivery.id, holder="worker-a", status=DELIVERED)
            won = await repo.settle(first.delivery.id, holder="worker-b", status=DELIVERED)
            again = await repo.settle(first.delivery.id, holder="worker-b", status=DELIVERED)

        assert taken_over.delivery.id == first.delivery.id
        assert (lost, won, again) == (False, True, False)

    async def test_the_claim_carries_the_recipients_current_quiet_hours(self, db: Database) -> None:
        async with db.transaction() as session:
            await NotifyRepository(session).save_agent(
                an_agent("anna", quiet_hours=quiet("22:00", "06:00")), is_new=True
            )
        await self.store(db, a_notification("n-1"), [Route(EMAIL, "a@b.cd")])

        [due] = await self.claim(db, "worker-a")

        assert due.quiet_hours == quiet("22:00", "06:00")

    async def test_concurrent_claimers_never_share_a_delivery(self, db: Database) -> None:
        for i in range(12):
            await self.store(db, a_notification(f"n-{i}", event_id=f"e-{i}"))

        batches = await asyncio.gather(*(self.claim(db, f"worker-{w}", limit=7) for w in range(4)))

        claimed = [d.delivery.id for batch in batches for d in batch]
        assert len(claimed) == len(set(claimed)) == 24

    async def test_pending_deliveries_are_counted_by_channel(self, db: Database) -> None:
        await self.store(db, a_notification("n-1"))
        await self.store(
            db, a_notification("n-2", event_id="e2"), [Route(INBOX, None), Route(EMAIL, "x@y.z")]
        )

        async with db.sessions() as session:
            assert await NotifyRepository(session).pending_by_channel() == {EMAIL: 2, WEBHOOK: 1}

    # outcomes, with their events, through the unit of work

    async def record(self, db: Database, work: Any) -> tuple[str, list[str]]:
        async with db.transaction() as session:
            uow = UnitOfWork(
                session, chassis, ManualClock(NOW), "cimis/notify", Cause("worker", "corr", "ev")
            )
            outcome = await work(uow)
            await uow.flush()
        return outcome, [e.type for e in uow.emitted]

    async def test_a_permanent_failure_fails_the_delivery_and_publishes_it(
        self, db: Database
    ) -> None:
        await self.store(db, a_notification("n-1"), [Route(EMAIL, "a@b.cd")])
        [due] = await self.claim(db, "w")

        outcome, emitted = await self.record(
            db,
            lambda uow: outcomes.record_failure(
                uow, due, holder="w", error="550 no such user", permanent=True, policy=POLICY
            ),
        )

        assert (outcome, emitted) == (outcomes.FAILED_OUTCOME, [NotificationFailedV1.TYPE])
        async with db.sessions() as session:
            [row] = (await session.execute(select(deliveries))).all()
            [published] = (await session.execute(select(chassis.outbox))).all()
        assert (row.status, row.attempts, row.last_error) == (FAILED, 1, "550 no such user")
        assert row.claimed_by is None
        data = json.loads(published.payload)["data"]
        assert (data["channel"], data["attempts"], data["error"]) == (EMAIL, 1, "550 no such user")
        assert published.key == "team-1"

    async def test_a_transient_failure_is_rescheduled_without_an_event(self, db: Database) -> None:
        await self.store(db, a_notification("n-1"), [Route(EMAIL, "a@b.cd")])
        [due] = await self.claim(db, "w")

        outcome, emitted = await self.record(
            db,
            lambda uow: outcomes.record_failure(
                uow, due, holder="w", error="timeout", permanent=False, policy=POLICY
            ),
        )

        assert (outcome, emitted) == (outcomes.RETRIED, [])
        async with db.sessions() as session:
            [row] = (await session.execute(select(deliveries))).all()
        assert (row.status, row.attempts, row.claimed_by) == (PENDING, 1, None)
        assert row.next_attempt_at == NOW + timedelta(seconds=60)
        assert await self.claim(db, "w") == []
        assert len(await self.claim(db, "w", now=NOW + timedelta(seconds=60))) == 1

    async def test_a_success_delivers_once_and_publishes_it(self, db: Database) -> None:
        await self.store(db, a_notification("n-1"), [Route(EMAIL, "a@b.cd")])
        [due] = await self.claim(db, "w")

        first = await self.record(db, lambda uow: outcomes.record_delivered(uow, due, holder="w"))
        second = await self.record(db, lambda uow: outcomes.record_delivered(uow, due, holder="w"))

        assert first == (outcomes.DELIVERED_OUTCOME, [NotificationDeliveredV1.TYPE])
        assert second == (outcomes.LOST_CLAIM, [])


class TestNotifyRepositoryOnSqlite(OnSqlite, NotifyRepositoryContract):
    pass


class TestNotifyRepositoryOnPostgres(OnPostgres, NotifyRepositoryContract):
    pass
