"""The consumer's handlers turn events into notifications, parking those that come too early."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cimis_chassis.clock import ManualClock
from cimis_chassis.envelope import CloudEvent
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1, TeamReassignedV1
from cimis_contracts.notify import NotificationDeliveredV1
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.unit_of_work import MemoryNotifyUnitOfWork
from services.notify.app.alerts import Alerts, StaffMailbox
from services.notify.domain.delivery import DELIVERED, EMAIL, INBOX, PENDING, WEBHOOK
from services.notify.domain.notifications import Delivery, Notification
from tests.unit.notify.builders import (
    NOW,
    allocation_refused,
    an_agent,
    blueprint_event,
    budget_allocated,
    envelope,
    expense_rejected,
    milestone_overdue,
    plan_completed,
    quiet,
    spending_off_plan,
    team_accepted,
    team_reassigned,
    threshold_crossed,
)

Applied = EventData | tuple[EventData, CloudEvent]


class Harness:
    """Notify's alert handlers on the fakes, each batch applied as the consumer applies it."""

    def __init__(self, staff_mailbox: str | None = "office@example.org") -> None:
        self.clock = ManualClock(NOW)
        self.uow = MemoryNotifyUnitOfWork(clock=self.clock)
        self.alerts = Alerts(TemplateRenderer(), StaffMailbox(staff_mailbox, "de"))

    async def apply(self, *items: Applied) -> list[CloudEvent]:
        """One batch in one unit: loaded up front, then each event with its own cause."""
        batch = [item if isinstance(item, tuple) else (item, envelope(item)) for item in items]
        async with self.uow as uow:
            await self.alerts.prepare(uow, batch)
            for payload, event in batch:
                uow.caused_by(Cause(f"event:{event.id}", event.correlationid or event.id, event.id))
                if isinstance(payload, TeamAcceptedV1):
                    await self.alerts.on_team_accepted(uow, payload, event)
                elif isinstance(payload, TeamReassignedV1):
                    await self.alerts.on_team_reassigned(uow, payload, event)
                else:
                    await self.alerts.on_team_event(uow, payload, event)
        return [event for _, event in batch]

    async def add_agent(self, **overrides: Any) -> None:
        async with self.uow as uow:
            await uow.agents.add(an_agent(**overrides))

    def notifications(self, recipient: str | None = None) -> list[Notification]:
        found = self.uow.notifications.rows.values()
        return [n for n in found if recipient is None or n.recipient == recipient]

    async def deliveries(self, notification: Notification) -> list[Delivery]:
        return (await self.uow.deliveries.of([notification.id]))[notification.id]

    def parked(self) -> int:
        return len(self.uow.parked_events.rows)

    def delivered_events(self) -> list[CloudEvent]:
        return self.uow.events_of_type(NotificationDeliveredV1.TYPE)


@pytest.fixture
def harness() -> Harness:
    return Harness()


async def test_a_new_team_alerts_its_agent_in_the_inbox_and_by_email(harness: Harness) -> None:
    await harness.add_agent(agent_id="anna", webhook_url="https://chat.example.org/hooks/x")

    [event] = await harness.apply(team_accepted("team-1", agent_id="anna"))

    [notification] = harness.notifications()
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
    [delivered] = harness.uow.committed_events
    assert delivered.type == NotificationDeliveredV1.TYPE
    assert delivered.subject == "team-1"
    assert (delivered.data["channel"], delivered.data["recipient"]) == (INBOX, "anna")
    assert delivered.data["notification_id"] == notification.id
    assert delivered.causationid == event.id
    assert harness.uow.committed_topics == [NotificationDeliveredV1.TOPIC]


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (threshold_crossed("team-1"), "threshold_crossed"),
        (expense_rejected("team-1"), "expense_rejected"),
        (milestone_overdue("team-1"), "milestone_overdue"),
        (plan_completed("team-1"), "plan_completed"),
    ],
)
async def test_each_team_event_alerts_the_teams_agent(
    harness: Harness, payload: EventData, kind: str
) -> None:
    await harness.add_agent(agent_id="anna")
    await harness.apply(team_accepted("team-1", agent_id="anna"))

    [event] = await harness.apply(payload)

    [notification] = [n for n in harness.notifications() if n.event_id == event.id]
    assert (notification.recipient, notification.kind) == ("anna", kind)
    assert [d.channel for d in await harness.deliveries(notification)] == [INBOX, EMAIL]
    assert [e.data["kind"] for e in harness.delivered_events()] == ["team_assigned", kind]


async def test_an_event_before_its_team_is_parked_and_alerted_after_team_accepted(
    harness: Harness,
) -> None:
    await harness.add_agent(agent_id="anna")
    [early_threshold] = await harness.apply(threshold_crossed("team-1"))
    [early_overdue] = await harness.apply(milestone_overdue("team-1"))

    assert harness.notifications() == []
    assert harness.parked() == 2
    assert harness.uow.committed_events == []

    await harness.apply(team_accepted("team-1", agent_id="anna"))

    by_kind = {n.kind: n.event_id for n in harness.notifications("anna")}
    assert by_kind.keys() == {"team_assigned", "threshold_crossed", "milestone_overdue"}
    assert by_kind["threshold_crossed"] == early_threshold.id
    assert by_kind["milestone_overdue"] == early_overdue.id
    assert harness.parked() == 0
    # The new-team alert first, then the parked ones in the order they arrived.
    assert [e.data["kind"] for e in harness.delivered_events()] == [
        "team_assigned",
        "threshold_crossed",
        "milestone_overdue",
    ]


async def test_an_early_event_and_its_team_in_one_batch_are_alerted_in_that_batch(
    harness: Harness,
) -> None:
    [early, accepted, later] = await harness.apply(
        expense_rejected("team-1"),
        team_accepted("team-1", agent_id="anna"),
        plan_completed("team-1"),
    )

    assert harness.parked() == 0
    assert harness.uow.commits == 1
    assert [e.data["kind"] for e in harness.delivered_events()] == [
        "team_assigned",
        "expense_rejected",
        "plan_completed",
    ]
    assert {n.event_id for n in harness.notifications()} == {early.id, accepted.id, later.id}


async def test_each_event_of_a_batch_is_attributed_to_itself(harness: Harness) -> None:
    [accepted, crossed] = await harness.apply(team_accepted("team-1"), threshold_crossed("team-1"))

    assert [(a.actor, a.action) for a in harness.uow.audit_log] == [
        (f"event:{accepted.id}", "notification.created"),
        (f"event:{crossed.id}", "notification.created"),
    ]
    assert [e.causationid for e in harness.delivered_events()] == [accepted.id, crossed.id]


async def test_a_parked_event_keeps_its_own_correlation_id(harness: Harness) -> None:
    [early] = await harness.apply(expense_rejected("team-1"))

    await harness.apply(team_accepted("team-1"))

    rejected = [n for n in harness.notifications() if n.kind == "expense_rejected"]
    assert [n.correlation_id for n in rejected] == [early.correlationid or early.id]


async def test_the_same_event_applied_twice_notifies_once(harness: Harness) -> None:
    await harness.apply(team_accepted("team-1"))
    payload = threshold_crossed("team-1")
    event = envelope(payload)

    await harness.apply((payload, event))
    await harness.apply((payload, event))

    assert sorted(n.kind for n in harness.notifications()) == ["team_assigned", "threshold_crossed"]
    assert len(harness.delivered_events()) == 2
    assert len(harness.uow.audit_log) == 2


async def test_the_same_event_parked_twice_notifies_once(harness: Harness) -> None:
    payload = threshold_crossed("team-1")
    event = envelope(payload)
    await harness.apply((payload, event))
    await harness.apply((payload, event))

    assert harness.parked() == 1
    await harness.apply(team_accepted("team-1"))

    assert sorted(n.kind for n in harness.notifications()) == ["team_assigned", "threshold_crossed"]


async def test_a_later_acceptance_moves_the_team_to_its_new_agent(harness: Harness) -> None:
    await harness.apply(team_accepted("team-1", agent_id="anna"))
    await harness.apply(team_accepted("team-1", agent_id="ben", title="Neu"))

    [crossed] = await harness.apply(threshold_crossed("team-1"))

    [notification] = [n for n in harness.notifications() if n.event_id == crossed.id]
    assert notification.recipient == "ben"
    assert "Neu" in notification.title


async def test_a_refused_allocation_goes_to_the_staff_mailbox(harness: Harness) -> None:
    await harness.apply(team_accepted("team-1", agent_id="anna"))

    await harness.apply(allocation_refused("team-1"))

    [refusal] = harness.notifications("staff")
    assert refusal.kind == "allocation_refused"
    assert refusal.title == "Budget nicht zugewiesen: Terminbuchung 2.0"
    channels = await harness.deliveries(refusal)
    assert [(d.channel, d.target) for d in channels] == [
        (INBOX, None),
        (EMAIL, "office@example.org"),
    ]


async def test_a_team_on_the_waiting_list_is_news_for_its_agent_and_its_funding_too(
    harness: Harness,
) -> None:
    await harness.apply(team_accepted("team-1", agent_id="anna"))
    [assigned] = harness.notifications("anna")
    assert "beträgt" not in assigned.body  # it says what was requested, not that it is funded

    await harness.apply(allocation_refused("team-1", reason_code="pot-exhausted"))
    [_, waiting] = harness.notifications("anna")
    assert waiting.kind == "budget_waiting"
    assert waiting.title == "Team auf der Warteliste: Terminbuchung 2.0"
    assert "im Topf des Aufrufs sind nur noch 12.500,00 € frei" in waiting.body
    assert [n.kind for n in harness.notifications("staff")] == ["allocation_refused"]

    await harness.apply(budget_allocated("team-1"))
    assert [n.kind for n in harness.notifications("anna")][-1] == "budget_allocated"
    assert [n.kind for n in harness.notifications("staff")][-1] == "budget_allocated"


async def test_an_ordinary_allocation_raises_nothing_and_is_not_parked(
    harness: Harness,
) -> None:
    await harness.apply(budget_allocated("team-unknown", from_waiting_list=False))
    await harness.apply(
        team_accepted("team-1"), budget_allocated("team-1", from_waiting_list=False)
    )

    assert harness.parked() == 0
    assert [n.kind for n in harness.notifications()] == ["team_assigned"]


async def test_without_a_staff_mailbox_a_refusal_stays_in_the_inbox() -> None:
    harness = Harness(staff_mailbox=None)
    await harness.apply(team_accepted("team-1"))

    await harness.apply(allocation_refused("team-1"))

    [refusal] = harness.notifications("staff")
    assert [d.channel for d in await harness.deliveries(refusal)] == [INBOX]


async def test_an_agent_without_a_profile_gets_a_german_inbox_entry_only(
    harness: Harness,
) -> None:
    await harness.apply(team_accepted("team-1", agent_id="nobody-yet"))

    [notification] = harness.notifications()
    assert notification.language == "de"
    assert "Guten Tag," in notification.body
    assert [d.channel for d in await harness.deliveries(notification)] == [INBOX]


async def test_an_english_speaking_agent_gets_english_text(harness: Harness) -> None:
    await harness.add_agent(agent_id="anna", language="en", name="Anna")

    await harness.apply(team_accepted("team-1", agent_id="anna"))

    [notification] = harness.notifications()
    assert (notification.language, notification.title) == ("en", "New team: Terminbuchung 2.0")
    assert notification.body.startswith("Hello Anna,")
    assert "EUR 45,000.00" in notification.body


async def test_quiet_hours_defer_the_email_to_the_windows_end(harness: Harness) -> None:
    await harness.add_agent(agent_id="anna", quiet_hours=quiet("20:00", "07:00"))
    harness.clock.set(datetime(2025, 3, 4, 21, 0, tzinfo=UTC))  # 22:00 in Berlin

    await harness.apply(team_accepted("team-1", agent_id="anna"))

    [notification] = harness.notifications()
    inbox, email = await harness.deliveries(notification)
    assert (inbox.status, inbox.delivered_at) == (
        DELIVERED,
        datetime(2025, 3, 4, 21, 0, tzinfo=UTC),
    )
    assert email.next_attempt_at == datetime(2025, 3, 5, 6, 0, tzinfo=UTC)  # 07:00 in Berlin


async def test_each_notification_is_audited_with_its_cause(harness: Harness) -> None:
    await harness.add_agent(agent_id="anna")
    [event] = await harness.apply(team_accepted("team-1", agent_id="anna"))

    [entry] = [a for a in harness.uow.audit_log if a.entity_type == "notification"]
    [notification] = harness.notifications()
    assert (entry.action, entry.actor, entry.entity_id) == (
        "notification.created",
        f"event:{event.id}",
        notification.id,
    )
    assert entry.after is not None
    assert (entry.after["kind"], entry.after["channels"]) == ("team_assigned", [INBOX, EMAIL])


async def test_a_failing_handler_leaves_the_batch_unapplied(harness: Harness) -> None:
    class Boom(Exception):
        pass

    async def accept_then_fail() -> None:
        async with harness.uow as uow:
            await harness.alerts.on_team_accepted(
                uow, team_accepted("team-1"), envelope(team_accepted("team-1"))
            )
            raise Boom

    with pytest.raises(Boom):
        await accept_then_fail()

    assert harness.notifications() == []
    assert await harness.uow.teams.get("team-1") is None
    assert harness.uow.committed_events == []


async def test_a_retired_agents_alerts_go_to_the_programme_office(harness: Harness) -> None:
    await harness.add_agent(agent_id="anna", name="Anna Berger", retired_at=NOW)

    await harness.apply(team_accepted("team-1", agent_id="anna"))

    assert harness.notifications("anna") == []
    [notification] = harness.notifications("staff")
    assert notification.kind == "team_assigned"
    assert notification.body.startswith("Guten Tag,")
    channels = await harness.deliveries(notification)
    assert (EMAIL, "office@example.org") in [(d.channel, d.target) for d in channels]


class TestReassignment:
    async def test_the_new_agent_is_told_and_hears_every_later_alert_of_the_team(
        self, harness: Harness
    ) -> None:
        await harness.add_agent(agent_id="agent-anna")
        await harness.add_agent(agent_id="agent-ben", name="Ben Krause", email="ben@example.org")
        await harness.apply(team_accepted("team-1"))

        await harness.apply(team_reassigned("team-1"), threshold_crossed("team-1"))

        assert [n.kind for n in harness.notifications("agent-anna")] == ["team_assigned"]
        told, threshold = sorted(harness.notifications("agent-ben"), key=lambda n: n.kind)
        assert (told.kind, threshold.kind) == ("team_reassigned", "threshold_crossed")
        assert "Frau Berger ist in Elternzeit." in told.body
        assert [d.channel for d in await harness.deliveries(told)] == [INBOX, EMAIL]
        contact = await harness.uow.teams.get("team-1")
        assert contact is not None
        assert contact.agent_id == "agent-ben"

    async def test_naming_the_same_agent_again_tells_nobody(self, harness: Harness) -> None:
        await harness.add_agent(agent_id="agent-anna")
        await harness.apply(team_accepted("team-1"))

        await harness.apply(team_reassigned("team-1", agent_id="AGENT-ANNA"))

        assert [n.kind for n in harness.notifications()] == ["team_assigned"]


class TestBlueprints:
    async def test_the_office_reviews_and_the_agent_hears_the_outcome(
        self, harness: Harness
    ) -> None:
        await harness.add_agent(agent_id="agent-anna")
        await harness.apply(team_accepted("team-1"))

        await harness.apply(
            *(
                blueprint_event(kind, "team-1")
                for kind in ("submitted", "changes_requested", "published", "withdrawn")
            )
        )

        assert [n.kind for n in harness.notifications("staff")] == ["blueprint_submitted"]
        agents = sorted(n.kind for n in harness.notifications("agent-anna"))
        assert agents == [
            "blueprint_changes_requested",
            "blueprint_published",
            "blueprint_received",
            "blueprint_withdrawn",
            "team_assigned",
        ]

    async def test_a_blueprint_staff_submit_for_the_team_reaches_its_agent_too(
        self, harness: Harness
    ) -> None:
        await harness.add_agent(agent_id="agent-anna")
        await harness.apply(team_accepted("team-1"))

        await harness.apply(blueprint_event("submitted", "team-1", submitted_by="sabine"))

        [received] = [
            n for n in harness.notifications("agent-anna") if n.kind == "blueprint_received"
        ]
        assert received.team_id == "team-1"
        assert "eingereicht von sabine" in received.body
        assert received.body.endswith("Ihr CIMIS-Programmbüro")


class TestSpendingOffPlan:
    async def test_behind_with_money_left_tells_the_office_too_ahead_only_the_agent(
        self, harness: Harness
    ) -> None:
        await harness.add_agent(agent_id="agent-anna")
        await harness.apply(team_accepted("team-1"), team_accepted("team-2"))

        await harness.apply(
            spending_off_plan("team-1"), spending_off_plan("team-2", status="ahead")
        )

        [office] = harness.notifications("staff")
        assert (office.kind, office.team_id) == ("spending_off_plan", "team-1")
        assert "23.000,00 €" in office.body
        mine = sorted(
            (n.team_id, n.kind)
            for n in harness.notifications("agent-anna")
            if n.kind != "team_assigned"
        )
        assert mine == [("team-1", "spending_off_plan"), ("team-2", "spending_off_plan")]
