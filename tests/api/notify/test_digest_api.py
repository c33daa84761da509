"""The weekly digest end to end on SQLite: the profile's setting, the read model fed by the
consumer's handlers, and the job writing one notification per agent and week."""

from __future__ import annotations

import asyncio
import datetime as dt
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1
from cimis_contracts.milestones import PlanCreatedV1
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.unit_of_work import SqlNotifyUnitOfWork
from services.notify.app.alerts import Alerts, StaffMailbox
from services.notify.app.digest_facts import with_digest_facts
from services.notify.app.digests import SENT, WeeklyDigests
from services.notify.domain.alerts import TEAM_ALERT_EVENTS
from tests.api.notify.conftest import STAFF_MAILBOX, new_team_id
from tests.support.service_app import RunningService
from tests.unit.notify.builders import envelope, team_accepted

MONDAY_8 = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)  # 08:00 in Berlin, week 2025-W11
PROFILE: dict[str, Any] = {"name": "Anna Berger", "email": "anna@example.org"}


async def put_agent(svc: RunningService, agent_id: str, body: dict[str, Any]) -> Any:
    return await svc.client.put(f"/api/v1/agents/{agent_id}", json=body, headers=svc.auth("staff"))


def units(svc: RunningService) -> Any:
    def unit(cause: Cause) -> SqlNotifyUnitOfWork:
        uow = svc.host.unit_of_work(cause)
        assert isinstance(uow, SqlNotifyUnitOfWork)
        return uow

    return unit


async def consume(svc: RunningService, *payloads: EventData) -> None:
    """One batch through the consumer's handler map (alerts and read model), in one unit."""
    alerts = Alerts(TemplateRenderer(), StaffMailbox(STAFF_MAILBOX, "de"))
    handlers: dict[type[EventData], Any] = {TeamAcceptedV1: alerts.on_team_accepted}
    handlers.update({c: alerts.on_team_event for c in TEAM_ALERT_EVENTS})
    handlers = with_digest_facts(handlers)
    batch = [(p, envelope(p, at=svc.clock.now())) for p in payloads]
    async with units(svc)(Cause("test", "corr")) as uow:
        await alerts.prepare(uow, batch)
        for payload, event in batch:
            await handlers[type(payload)](uow, payload, event)


def plan(team_id: str, due: dt.date) -> PlanCreatedV1:
    return PlanCreatedV1(
        team_id=team_id,
        call_id="call-1",
        agent_id="agent-anna",
        milestones=[
            {
                "milestone_id": f"{team_id}-p",
                "key": "prototype",
                "title": "Prototyp",
                "due_date": due,
            }
        ],
        created_at=MONDAY_8,
    )


async def digests_of(svc: RunningService, agent_id: str) -> list[dict[str, Any]]:
    response = await svc.client.get(
        f"/api/v1/notifications?agent_id={agent_id}", headers=svc.auth("staff")
    )
    assert response.status_code == 200, response.text
    return [n for n in response.json()["items"] if n["kind"] == "weekly_digest"]


class TestTheSetting:
    async def test_left_out_it_is_monday_8_and_null_switches_it_off(
        self, notify: RunningService
    ) -> None:
        default = await put_agent(notify, "agent-default", PROFILE)
        chosen = await put_agent(
            notify, "agent-friday", PROFILE | {"digest": {"weekday": "friday", "time": "16:30"}}
        )
        off = await put_agent(notify, "agent-off", PROFILE | {"digest": None})

        assert default.json()["digest"] == {"weekday": "monday", "time": "08:00"}
        assert chosen.json()["digest"] == {"weekday": "friday", "time": "16:30"}
        assert off.json()["digest"] is None
        fetched = await notify.client.get(
            "/api/v1/agents/agent-friday", headers=notify.auth("staff")
        )
        assert fetched.json()["digest"] == {"weekday": "friday", "time": "16:30"}

    @pytest.mark.parametrize(
        "digest",
        [
            {"weekday": "Monday", "time": "08:00"},
            {"weekday": "montag", "time": "08:00"},
            {"weekday": "monday", "time": "8:00"},
            {"weekday": "monday", "time": "24:00"},
            {"weekday": "monday"},
            {"weekday": "monday", "time": "08:00", "timezone": "UTC"},
            "monday 08:00",
        ],
    )
    async def test_anything_else_is_refused_and_changes_nothing(
        self, notify: RunningService, digest: Any
    ) -> None:
        await put_agent(notify, "agent-kept", PROFILE)

        response = await put_agent(notify, "agent-kept", PROFILE | {"digest": digest})

        assert response.status_code == 422, response.text
        kept = await notify.client.get("/api/v1/agents/agent-kept", headers=notify.auth("staff"))
        assert kept.json()["digest"] == {"weekday": "monday", "time": "08:00"}


class TestTheJob:
    async def test_one_digest_per_week_through_the_database_even_from_two_instances(
        self, notify: RunningService
    ) -> None:
        notify.clock.set(MONDAY_8)
        await put_agent(notify, "agent-anna", PROFILE | {"salutation": "Frau"})
        team = new_team_id()
        await consume(
            notify,
            plan(team, dt.date(2025, 3, 14)),  # before its team_accepted: recorded all the same
            team_accepted(team, agent_id="Agent-Anna"),  # ids compare in any case
        )
        first = WeeklyDigests(units(notify), TemplateRenderer())
        second = WeeklyDigests(units(notify), TemplateRenderer())

        outcomes = await asyncio.gather(first.run_once(), second.run_once())
        notify.clock.advance(timedelta(hours=3))
        again = await first.run_once()

        sent = [o for o in outcomes if o.get("agent-anna") == SENT]
        assert len(sent) == 1
        assert "agent-anna" not in again
        [digest] = await digests_of(notify, "agent-anna")
        assert digest["title"] == "Ihr Wochenüberblick, KW 11/2025"
        assert digest["body"].startswith("Guten Tag Frau Berger,")
        assert "- Bald fällig: Prototyp am 14.03.2025" in digest["body"]
        assert digest["team_id"] is None
        assert [c["channel"] for c in digest["channels"]] == ["inbox", "email"]
