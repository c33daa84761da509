"""The consumer's handlers turn events into notifications, parking those that come too early."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.envelope import CloudEvent
from cimis_chassis.keyset import Page
from cimis_chassis.unit_of_work import Cause, UnitOfWork
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1
from cimis_contracts.notify import NotificationDeliveredV1
from services.notify.adapters.repository import NotifyRepository
from services.notify.adapters.tables import chassis, metadata, parked_events
from services.notify.adapters.templates import TemplateRenderer
from services.notify.app.alerts import Alerts, StaffMailbox
from services.notify.domain.delivery import DELIVERED, EMAIL, INBOX, PENDING, WEBHOOK
from services.notify.domain.notifications import Delivery, Notification
from tests.unit.notify.builders import (
    NOW,
    allocation_refused,
    an_agent,
    envelope,
    expense_rejected,
    milestone_overdue,
    quiet,
    team_accepted,
    threshold_crossed,
)


class Harness:
    """Notify's alert handlers on a fresh SQLite file, one unit of work per applied event."""

    def __init__(self, db: Database, staff_mailbox: str | None = "office@example.org") -> None:
        self.db = db
        self.clock = ManualClock(NOW)
        self.alerts = Alerts(TemplateRenderer(), StaffMailbox(staff_mailbox, "de"))
        self.emitted: list[CloudEvent] = []

    async def apply(self, payload: EventData, event: CloudEvent | None = None) -> CloudEvent:
        event = event or envelope(payload)
        async with self.db.transaction() as session:
            uow = UnitOfWork(
                session,
                chassis,
                self.clock,
                "cimis/notify",
                Cause(actor=f"event:{event.id}", correlation_id="corr", causation_id=event.id),
            )
            if isinstance(payload, TeamAcceptedV1):
                await self.alerts.on_team_accepted(uow, payload, event)
            else:
                await self.alerts.on_team_event(uow, payload, event)
            await uow.flush()
            self.emitted.extend(uow.emitted)
        return event

    async def add_agent(self, **overrides: Any) -> None:
        async with self.db.transaction() as session:
            await NotifyRepository(session).save_agent(an_agent(**overrides), is_new=True)

    async def notifications(self, recipient: str | None = None) -> list[Notification]:
        async with self.db.sessions() as session:
            return await NotifyRepository(session).list_notifications(
                Page(after=None, limit=200), recipient=recipient, status=None
            )

    async def deliveries(self, notification: Notification) -> list[Delivery]:
        async with self.db.sessions() as session:
            return (await NotifyRepository(session).deliveries_of([notification.id]))[
                notification.id
            ]

    async def parked(self) -> int:
        async with self.db.sessions() as session:
            return int(
                (
                    await session.execute(select(func.count()).select_from(parked_events))
                ).scalar_one()
            )


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    db = Database(f"sqlite:///{tmp_path / 'notify.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield Harness(db)
    finally:
        await db.dispose()


async def test_a_new_team_alerts_its_agent_in_the_inbox_and_by_email(harness: Harness) -> None:
    await harness.add_agent(agent_id="anna", webhook_url="https://chat.example.org/hooks/x")

    event = await harness.apply(team_accepted("team-1", agent_id="anna"))

    [notification] = await harness.notifications()
    assert (notification.recipient, notification.kind, notification.team_id) == (
        "anna",
        "team_assigned",
        "team-1",
    )
    assert notification.event_id == event.id
    assert notification.title == "Neues Team: Terminbuchung 2.0"
    channels = await harness.deliveries(notification)
    assert [(d.channel, d.status, d.target) for d in channels] == [
        (INBOX, DELIVERED, None),
        (EMAIL, PENDING, "anna@example.org"),
        (WEBHOOK, PENDING, "https://chat.example.org/hooks/x"),
    ]
    [delivered] = harness.emitted
    assert delivered.type == NotificationDeliveredV1.TYPE
    assert delivered.subject == "team-1"
    assert (delivered.data["channel"], delivered.data["recipient"]) == (INBOX, "anna")
    assert delivered.correlationid == "corr"


async def test_an_event_before_its_team_is_parked_and_alerted_after_team_accepted(
    harness: Harness,
) -> None:
    await harness.add_agent(agent_id="anna")
    early_threshold = await harness.apply(threshold_crossed("team-1"))
    early_overdue = await harness.apply(milestone_overdue("team-1"))

    assert await harness.notifications() == []
    assert await harness.parked() == 2

    await harness.apply(team_accepted("team-1", agent_id="anna"))

    # All three are raised in the team_accepted's transaction, so they share a created_at.
    by_kind = {n.kind: n.event_id for n in await harness.notifications("anna")}
    assert by_kind.keys() == {"team_assigned", "threshold_crossed", "milestone_overdue"}
    assert by_kind["threshold_crossed"] == early_threshold.id
    assert by_kind["milestone_overdue"] == early_overdue.id
    assert await harness.parked() == 0


async def test_a_parked_event_keeps_its_own_correlation_id(harness: Harness) -> None:
    early = await harness.apply(expense_rejected("team-1"))

    await harness.apply(team_accepted("team-1"))

    rejected = [n for n in await harness.notifications() if n.kind == "expense_rejected"]
    assert [n.correlation_id for n in rejected] == [early.correlationid]


async def test_the_same_event_applied_twice_notifies_once(harness: Harness) -> None:
    await harness.apply(team_accepted("team-1"))
    event = envelope(threshold_crossed("team-1"))

    await harness.apply(threshold_crossed("team-1"), event)
    await harness.apply(threshold_crossed("team-1"), event)

    kinds = sorted(n.kind for n in await harness.notifications())
    assert kinds == ["team_assigned", "threshold_crossed"]


async def test_the_same_event_parked_twice_notifies_once(harness: Harness) -> None:
    event = envelope(threshold_crossed("team-1"))
    await harness.apply(threshold_crossed("team-1"), event)
    await harness.apply(threshold_crossed("team-1"), event)

    await harness.apply(team_accepted("team-1"))

    kinds = sorted(n.kind for n in await harness.notifications())
    assert kinds == ["team_assigned", "threshold_crossed"]


async def test_a_refused_allocation_goes_to_the_staff_mailbox(harness: Harness) -> None:
    await harness.apply(team_accepted("team-1", agent_id="anna"))

    await harness.apply(allocation_refused("team-1"))

    [refusal] = await harness.notifications("staff")
    assert refusal.kind == "allocation_refused"
    assert refusal.title == "Budget nicht zugewiesen: Terminbuchung 2.0"
    channels = await harness.deliveries(refusal)
    assert [(d.channel, d.target) for d in channels] == [
        (INBOX, None),
        (EMAIL, "office@example.org"),
    ]


async def test_an_agent_without_a_profile_gets_a_german_inbox_entry_only(
    harness: Harness,
) -> None:
    await harness.apply(team_accepted("team-1", agent_id="nobody-yet"))

    [notification] = await harness.notifications()
    assert notification.language == "de"
    assert "Guten Tag," in notification.body
    assert [d.channel for d in await harness.deliveries(notification)] == [INBOX]


async def test_an_english_speaking_agent_gets_english_text(harness: Harness) -> None:
    await harness.add_agent(agent_id="anna", language="en", name="Anna")

    await harness.apply(team_accepted("team-1", agent_id="anna"))

    [notification] = await harness.notifications()
    assert (notification.language, notification.title) == ("en", "New team: Terminbuchung 2.0")
    assert notification.body.startswith("Hello Anna,")
    assert "EUR 45,000.00" in notification.body


async def test_quiet_hours_defer_the_email_to_the_windows_end(harness: Harness) -> None:
    await harness.add_agent(agent_id="anna", quiet_hours=quiet("20:00", "07:00"))
    harness.clock.set(datetime(2025, 3, 4, 21, 0, tzinfo=UTC))  # 22:00 in Berlin

    await harness.apply(team_accepted("team-1", agent_id="anna"))

    [notification] = await harness.notifications()
    inbox, email = await harness.deliveries(notification)
    assert (inbox.status, inbox.delivered_at) == (
        DELIVERED,
        datetime(2025, 3, 4, 21, 0, tzinfo=UTC),
    )
    assert email.next_attempt_at == datetime(2025, 3, 5, 6, 0, tzinfo=UTC)  # 07:00 in Berlin


async def test_each_notification_is_audited_with_its_cause(harness: Harness) -> None:
    event = await harness.apply(team_accepted("team-1"))

    async with harness.db.sessions() as session:
        rows = (await session.execute(select(chassis.audit_log))).all()
    [entry] = rows
    assert (entry.action, entry.actor) == ("notification.created", f"event:{event.id}")
    assert json.loads(json.dumps(entry.after))["kind"] == "team_assigned"
