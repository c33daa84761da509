"""Agents hear about their own teams, staff about refusals; each channel is planned once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamWithdrawnV1
from services.notify.domain.agents import STAFF, define_agent
from services.notify.domain.alerts import (
    ALLOCATION_REFUSED,
    EXPENSE_REJECTED,
    MILESTONE_OVERDUE,
    PLAN_COMPLETED,
    TEAM_ASSIGNED,
    THRESHOLD_CROSSED,
    TeamContact,
    alert_for,
    team_of,
)
from services.notify.domain.delivery import (
    DELIVERED,
    EMAIL,
    FAILED,
    INBOX,
    PENDING,
    WEBHOOK,
    Route,
    routes_for,
)
from services.notify.domain.errors import Forbidden, NotifyRuleViolation
from services.notify.domain.notifications import (
    Notification,
    delivery_status,
    mark_read,
    plan_deliveries,
)
from tests.unit.notify.builders import (
    NOW,
    allocation_refused,
    an_agent,
    expense_rejected,
    milestone_overdue,
    plan_completed,
    quiet,
    team_accepted,
    threshold_crossed,
)

TEAM = TeamContact(team_id="team-1", call_id="call-1", title="Terminbuchung 2.0", agent_id="anna")


class TestWhoIsAlerted:
    @pytest.mark.parametrize(
        ("event", "kind"),
        [
            (team_accepted("team-1", agent_id="anna"), TEAM_ASSIGNED),
            (threshold_crossed("team-1"), THRESHOLD_CROSSED),
            (expense_rejected("team-1"), EXPENSE_REJECTED),
            (milestone_overdue("team-1"), MILESTONE_OVERDUE),
            (plan_completed("team-1"), PLAN_COMPLETED),
        ],
        ids=lambda v: v if isinstance(v, str) else type(v).__name__,
    )
    def test_team_events_go_to_the_teams_agent(self, event: EventData, kind: str) -> None:
        alert = alert_for(event, TEAM)

        assert (alert.kind, alert.recipient, alert.team_id) == (kind, "anna", "team-1")
        assert alert.facts["team_title"] == "Terminbuchung 2.0"

    def test_a_refused_allocation_goes_to_staff_naming_the_agent(self) -> None:
        alert = alert_for(allocation_refused("team-1"), TEAM)

        assert (alert.kind, alert.recipient) == (ALLOCATION_REFUSED, STAFF)
        assert alert.facts["agent_id"] == "anna"
        assert alert.facts["requested_cents"] == 45_000_00

    def test_an_event_without_an_alert_is_refused(self) -> None:
        withdrawn = TeamWithdrawnV1(
            team_id="team-1", call_id="c", reason="r", was_accepted=True, withdrawn_at=NOW
        )
        with pytest.raises(ValueError, match="raises no alert"):
            alert_for(withdrawn, TEAM)

    def test_the_team_map_is_taken_from_team_accepted(self) -> None:
        assert team_of(team_accepted("team-9", agent_id="ben", title="X")) == TeamContact(
            team_id="team-9", call_id="call-1", title="X", agent_id="ben"
        )


class TestChannels:
    def test_an_agent_gets_inbox_email_and_their_webhook(self) -> None:
        agent = an_agent("anna", webhook_url="https://chat.example.org/hook")

        assert routes_for("anna", agent, "office@example.org") == [
            Route(INBOX, None),
            Route(EMAIL, "anna@example.org"),
            Route(WEBHOOK, "https://chat.example.org/hook"),
        ]

    def test_an_agent_without_a_profile_still_gets_the_inbox_entry(self) -> None:
        assert routes_for("anna", None, "office@example.org") == [Route(INBOX, None)]

    def test_staff_get_the_office_mailbox(self) -> None:
        assert routes_for(STAFF, None, "office@example.org") == [
            Route(INBOX, None),
            Route(EMAIL, "office@example.org"),
        ]

    def test_staff_without_a_configured_mailbox_get_the_inbox(self) -> None:
        assert routes_for(STAFF, None, None) == [Route(INBOX, None)]


def a_notification(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "id": "n-1",
        "event_id": "e-1",
        "recipient": "anna",
        "team_id": "team-1",
        "kind": THRESHOLD_CROSSED,
        "title": "t",
        "body": "b",
        "language": "de",
        "correlation_id": "c-1",
        "created_at": NOW,
    }
    return Notification(**(fields | overrides))


class TestPlanningDeliveries:
    def test_the_inbox_is_delivered_at_once_and_the_rest_due_now(self) -> None:
        routes = [Route(INBOX, None), Route(EMAIL, "a@example.org"), Route(WEBHOOK, "https://x")]

        planned = plan_deliveries(a_notification(), routes, None, NOW)

        assert [(d.channel, d.status, d.attempts) for d in planned] == [
            (INBOX, DELIVERED, 1),
            (EMAIL, PENDING, 0),
            (WEBHOOK, PENDING, 0),
        ]
        assert planned[0].delivered_at == NOW
        assert [d.next_attempt_at for d in planned[1:]] == [NOW, NOW]

    def test_quiet_hours_defer_email_and_webhook_but_not_the_inbox(self) -> None:
        evening = datetime(2025, 1, 15, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
        routes = [Route(INBOX, None), Route(EMAIL, "a@example.org"), Route(WEBHOOK, "https://x")]

        planned = plan_deliveries(a_notification(), routes, quiet("20:00", "07:00"), evening)

        morning = datetime(2025, 1, 16, 6, 0, tzinfo=UTC)
        assert [(d.channel, d.next_attempt_at) for d in planned] == [
            (INBOX, None),
            (EMAIL, morning),
            (WEBHOOK, morning),
        ]

    @pytest.mark.parametrize(
        ("statuses", "summary"),
        [
            ([DELIVERED, DELIVERED], DELIVERED),
            ([DELIVERED, PENDING], PENDING),
            ([DELIVERED, FAILED, PENDING], FAILED),
            ([DELIVERED], DELIVERED),
        ],
    )
    def test_one_word_sums_up_the_channels(self, statuses: list[str], summary: str) -> None:
        assert delivery_status(statuses) == summary


class TestMarkingRead:
    def test_the_recipient_marks_it_read(self) -> None:
        assert mark_read(a_notification(), acting_for="anna", now=NOW).read_at == NOW

    def test_another_agent_may_not(self) -> None:
        with pytest.raises(Forbidden):
            mark_read(a_notification(), acting_for="ben", now=NOW)

    def test_an_admin_may_mark_anyones(self) -> None:
        assert mark_read(a_notification(), acting_for=None, now=NOW).read_at == NOW

    def test_marking_again_keeps_the_first_time(self) -> None:
        first = mark_read(a_notification(), acting_for="anna", now=NOW)

        again = mark_read(first, acting_for="anna", now=NOW + timedelta(hours=1))

        assert again is first


class TestDefiningAnAgent:
    def profile(self, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "agent_id": "anna",
            "name": "Anna Berger",
            "email": "anna@example.org",
            "webhook_url": None,
            "quiet_hours": None,
            "language": None,
            "existing": None,
            "now": NOW,
        }
        return fields | overrides

    def test_german_is_the_default_language(self) -> None:
        assert define_agent(**self.profile()).language == "de"

    @pytest.mark.parametrize("agent_id", ["staff", "Staff"])
    def test_the_office_mailbox_name_is_reserved(self, agent_id: str) -> None:
        with pytest.raises(NotifyRuleViolation) as raised:
            define_agent(**self.profile(agent_id=agent_id))
        assert raised.value.code == "reserved-agent-id"

    def test_an_unchanged_profile_keeps_its_timestamps(self) -> None:
        existing = define_agent(**self.profile())

        again = define_agent(**self.profile(existing=existing, now=NOW + timedelta(days=1)))

        assert again is existing

    def test_a_change_keeps_the_creation_time(self) -> None:
        existing = define_agent(**self.profile())
        later = NOW + timedelta(days=1)

        changed = define_agent(**self.profile(existing=existing, now=later, language="en"))

        assert (changed.created_at, changed.updated_at, changed.language) == (NOW, later, "en")
        assert changed == replace(existing, updated_at=later, language="en")
