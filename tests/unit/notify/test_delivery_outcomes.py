"""What the delivery worker records after a send, on the fakes: outcome, event, audit, claim."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cimis_chassis.clock import ManualClock
from cimis_contracts.notify import NotificationDeliveredV1, NotificationFailedV1
from services.notify.adapters.unit_of_work import MemoryNotifyUnitOfWork
from services.notify.app import deliveries as outcomes
from services.notify.app.ports import DueDelivery
from services.notify.domain.delivery import (
    DELIVERED,
    EMAIL,
    FAILED,
    INBOX,
    PENDING,
    RetryPolicy,
    Route,
)
from services.notify.domain.notifications import plan_deliveries
from tests.unit.notify.builders import NOW, a_notification, an_agent, quiet

POLICY = RetryPolicy(base_seconds=60, factor=2, max_seconds=3600, max_attempts=3)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def uow(clock: ManualClock) -> MemoryNotifyUnitOfWork:
    return MemoryNotifyUnitOfWork(clock=clock)


async def claimed_email(uow: MemoryNotifyUnitOfWork, holder: str = "w") -> DueDelivery:
    notification = a_notification("n-1")
    async with uow:
        await uow.notifications.add(notification)
        routes = [Route(INBOX, None), Route(EMAIL, "anna@example.org")]
        await uow.deliveries.add(plan_deliveries(notification, routes, None, NOW))
    async with uow:
        [due] = await uow.deliveries.claim_due(
            holder=holder, now=NOW, until=NOW + timedelta(minutes=2), limit=10
        )
    return due


def email_of(uow: MemoryNotifyUnitOfWork) -> tuple[str, int, str | None]:
    [row] = [r for r in uow.deliveries.rows.values() if r.delivery.channel == EMAIL]
    return row.delivery.status, row.delivery.attempts, row.claimed_by


class TestRecordDelivered:
    async def test_a_sent_email_is_delivered_published_and_audited(
        self, uow: MemoryNotifyUnitOfWork
    ) -> None:
        due = await claimed_email(uow)

        async with uow:
            outcome = await outcomes.record_delivered(uow, due, holder="w")

        assert outcome == outcomes.DELIVERED_OUTCOME
        assert email_of(uow) == (DELIVERED, 1, None)
        [event] = uow.events_of_type(NotificationDeliveredV1.TYPE)
        assert (event.subject, event.data["channel"], event.data["attempts"]) == (
            "team-1",
            EMAIL,
            1,
        )
        [entry] = uow.audit_log
        assert (entry.action, entry.entity_id) == ("delivery.delivered", "n-1")

    async def test_recording_it_again_finds_the_claim_gone(
        self, uow: MemoryNotifyUnitOfWork
    ) -> None:
        due = await claimed_email(uow)
        async with uow:
            await outcomes.record_delivered(uow, due, holder="w")

        async with uow:
            again = await outcomes.record_delivered(uow, due, holder="w")

        assert again == outcomes.LOST_CLAIM
        assert len(uow.committed_events) == 1

    async def test_a_claim_taken_over_by_another_worker_is_lost(
        self, uow: MemoryNotifyUnitOfWork
    ) -> None:
        due = await claimed_email(uow, holder="w")
        async with uow:
            [taken] = await uow.deliveries.claim_due(
                holder="v",
                now=NOW + timedelta(minutes=3),
                until=NOW + timedelta(minutes=5),
                limit=1,
            )

        async with uow:
            outcome = await outcomes.record_delivered(uow, due, holder="w")

        assert taken.delivery.id == due.delivery.id
        assert outcome == outcomes.LOST_CLAIM
        assert email_of(uow) == (PENDING, 0, "v")
        assert uow.committed_events == []


class TestRecordFailure:
    async def test_a_transient_failure_is_retried_later_without_an_event(
        self, uow: MemoryNotifyUnitOfWork
    ) -> None:
        due = await claimed_email(uow)

        async with uow:
            outcome = await outcomes.record_failure(
                uow, due, holder="w", error="timeout", permanent=False, policy=POLICY
            )

        assert outcome == outcomes.RETRIED
        assert email_of(uow) == (PENDING, 1, None)
        [row] = [r for r in uow.deliveries.rows.values() if r.delivery.channel == EMAIL]
        assert row.delivery.next_attempt_at == NOW + timedelta(seconds=60)
        assert row.delivery.last_error == "timeout"
        assert (uow.committed_events, uow.audit_log) == ([], [])

    async def test_a_permanent_failure_fails_publishes_and_audits(
        self, uow: MemoryNotifyUnitOfWork
    ) -> None:
        due = await claimed_email(uow)

        async with uow:
            outcome = await outcomes.record_failure(
                uow, due, holder="w", error="550 no such user", permanent=True, policy=POLICY
            )

        assert outcome == outcomes.FAILED_OUTCOME
        assert email_of(uow) == (FAILED, 1, None)
        [event] = uow.events_of_type(NotificationFailedV1.TYPE)
        assert (event.data["error"], event.data["recipient"]) == ("550 no such user", "anna")
        [entry] = uow.audit_log
        assert entry.action == "delivery.failed"
        assert entry.after is not None
        assert entry.after["status"] == FAILED

    async def test_the_last_allowed_attempt_gives_up(
        self, uow: MemoryNotifyUnitOfWork, clock: ManualClock
    ) -> None:
        for attempt in range(1, POLICY.max_attempts + 1):
            if attempt == 1:
                due = await claimed_email(uow)
            else:
                clock.advance(timedelta(hours=1))
                async with uow:
                    [due] = await uow.deliveries.claim_due(
                        holder="w",
                        now=clock.now(),
                        until=clock.now() + timedelta(minutes=2),
                        limit=1,
                    )
            async with uow:
                outcome = await outcomes.record_failure(
                    uow, due, holder="w", error="timeout", permanent=False, policy=POLICY
                )

        assert outcome == outcomes.FAILED_OUTCOME
        assert email_of(uow) == (FAILED, POLICY.max_attempts, None)


class TestRecordDeferred:
    async def test_a_deferral_moves_the_attempt_without_counting_it(
        self, uow: MemoryNotifyUnitOfWork
    ) -> None:
        async with uow:
            await uow.agents.add(an_agent("anna", quiet_hours=quiet("09:00", "17:00")))
        due = await claimed_email(uow)
        later = NOW + timedelta(hours=6)

        async with uow:
            moved = await outcomes.record_deferred(uow, due, holder="w", until=later)

        assert moved is True
        assert due.quiet_hours == quiet("09:00", "17:00")
        assert email_of(uow) == (PENDING, 0, None)
        async with uow:
            assert await uow.deliveries.claim_due(holder="w", now=NOW, until=later, limit=5) == []
            assert (
                len(await uow.deliveries.claim_due(holder="w", now=later, until=later, limit=5))
                == 1
            )
