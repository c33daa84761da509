"""The weekly digest job on the fakes: one notification per agent and week, when there is news."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from cimis_chassis.clock import ManualClock
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.notify import NotificationDeliveredV1
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.unit_of_work import MemoryNotifyUnitOfWork
from services.notify.app import handlers
from services.notify.app.commands import PutAgent
from services.notify.app.digests import SENT, SKIPPED, WeeklyDigests
from services.notify.domain.agents import Agent
from services.notify.domain.alerts import TeamContact
from services.notify.domain.delivery import DELIVERED, EMAIL, INBOX, PENDING, WEBHOOK
from services.notify.domain.digest import OPEN, WEEKLY_DIGEST, TrackedMilestone, WaitingExpense
from services.notify.domain.digest_schedule import DEFAULT_SCHEDULE, DigestSchedule
from services.notify.domain.notifications import Notification
from tests.unit.notify.builders import an_agent, quiet

MONDAY_8 = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)  # 08:00 in Berlin, week 2025-W11


def units(uow: MemoryNotifyUnitOfWork) -> Callable[[Cause], MemoryNotifyUnitOfWork]:
    def unit(cause: Cause) -> MemoryNotifyUnitOfWork:
        uow.caused_by(cause)
        return uow

    return unit


class World:
    def __init__(self) -> None:
        self.clock = ManualClock(MONDAY_8)
        self.uow = MemoryNotifyUnitOfWork(clock=self.clock)
        self.metrics = NotifyMetrics(CollectorRegistry())
        self.job = WeeklyDigests(units(self.uow), TemplateRenderer(), self.metrics)

    async def agent(self, agent_id: str = "anna", **overrides: Any) -> Agent:
        fields: dict[str, Any] = {"digest": DEFAULT_SCHEDULE, "salutation": "Frau"}
        agent = an_agent(agent_id, **(fields | overrides))
        async with self.uow as uow:
            await uow.agents.add(agent)
        return agent

    async def team(self, team_id: str, agent_id: str = "anna", title: str = "Hofladen") -> None:
        async with self.uow as uow:
            await uow.teams.save(TeamContact(team_id, "c-1", title, agent_id), accepted_at=MONDAY_8)
            await uow.digest_facts.allocate(team_id, 45_000_00)

    async def due(self, team_id: str, due_date: dt.date, ident: str = "ms-1") -> None:
        async with self.uow as uow:
            await uow.digest_facts.plan(
                [TrackedMilestone(ident, team_id, "prototype", "Prototyp", due_date, OPEN)]
            )

    async def waiting(self, team_id: str, expense_id: str = "e-1", cents: int = 100_00) -> None:
        async with self.uow as uow:
            await uow.digest_facts.expense_waiting(
                WaitingExpense(expense_id, team_id, cents, MONDAY_8)
            )

    def digests(self, recipient: str | None = None) -> list[Notification]:
        return [
            n
            for n in self.uow.notifications.rows.values()
            if n.kind == WEEKLY_DIGEST and recipient in (None, n.recipient)
        ]

    def counted(self, outcome: str) -> float:
        return float(self.metrics.digests.labels(outcome)._value.get())


@pytest.fixture
async def world() -> World:
    world = World()
    await world.agent()
    await world.team("t-1")
    await world.due("t-1", dt.date(2025, 3, 14))
    return world


class TestSending:
    async def test_the_digest_is_one_notification_on_the_agents_channels(
        self, world: World
    ) -> None:
        await world.waiting("t-1")
        async with world.uow as uow:
            await uow.agents.update(
                an_agent(
                    "anna",
                    digest=DEFAULT_SCHEDULE,
                    salutation="Frau",
                    webhook_url="https://chat.example.org/h",
                    quiet_hours=quiet("20:00", "07:00"),
                )
            )

        assert await world.job.run_once() == {"anna": SENT}

        [digest] = world.digests()
        assert (digest.recipient, digest.team_id, digest.language) == ("anna", None, "de")
        assert digest.event_id == "digest:2025-W11:anna"
        assert digest.title == "Ihr Wochenüberblick, KW 11/2025"
        assert "- Bald fällig: Prototyp am 14.03.2025" in digest.body
        assert "- 1 Beleg wartet auf Prüfung: 100,00 €" in digest.body
        channels = (await world.uow.deliveries.of([digest.id]))[digest.id]
        assert [(d.channel, d.status) for d in channels] == [
            (INBOX, DELIVERED),
            (EMAIL, PENDING),
            (WEBHOOK, PENDING),
        ]
        assert channels[1].next_attempt_at == MONDAY_8  # 08:00 is outside 20:00 to 07:00
        [delivered] = world.uow.events_of_type(NotificationDeliveredV1.TYPE)
        assert delivered.data["notification_id"] == digest.id
        assert delivered.correlationid == "digest:2025-W11:anna"
        assert [e.action for e in world.uow.audit_log][-1] == "notification.created"
        assert world.counted(SENT) == 1

    async def test_not_before_the_agents_moment_of_the_week(self, world: World) -> None:
        world.clock.set(MONDAY_8 - timedelta(minutes=1))

        assert await world.job.run_once() == {}
        assert world.digests() == []

    async def test_an_english_speaking_agent_reads_it_in_english(self, world: World) -> None:
        async with world.uow as uow:
            await uow.agents.update(an_agent("anna", digest=DEFAULT_SCHEDULE, language="en"))

        await world.job.run_once()

        [digest] = world.digests()
        assert digest.title == "Your weekly digest, week 11 of 2025"
        assert digest.language == "en"

    async def test_only_the_agents_own_teams_are_in_it(self, world: World) -> None:
        await world.agent("bert")
        await world.team("t-bert", agent_id="bert", title="Bäckerei digital")
        await world.waiting("t-bert", "e-bert")

        await world.job.run_once()

        [anna] = world.digests("anna")
        [bert] = world.digests("bert")
        assert "Hofladen" in anna.body
        assert "Bäckerei" not in anna.body
        assert "Bäckerei" in bert.body
        assert "Hofladen" not in bert.body


class TestOncePerWeek:
    async def test_checking_again_in_the_same_week_sends_nothing_more(self, world: World) -> None:
        await world.job.run_once()
        world.clock.advance(timedelta(days=3))

        assert await world.job.run_once() == {}
        assert len(world.digests()) == 1

    async def test_two_instances_send_one_digest(self, world: World) -> None:
        other = WeeklyDigests(units(world.uow), TemplateRenderer())

        await world.job.run_once()
        await other.run_once()

        assert len(world.digests()) == 1

    async def test_a_claim_taken_meanwhile_by_another_instance_wins(self, world: World) -> None:
        # The other instance decided the week between this one's listing and its own unit.
        undecided = world.uow.digests.undecided

        async def listed_then_taken(week: str) -> list[Agent]:
            found = await undecided(week)
            await world.uow.digests.claim(
                "anna", week, outcome=SENT, notification_id="n-other", now=MONDAY_8
            )
            return found

        world.uow.digests.undecided = listed_then_taken  # type: ignore[method-assign]

        assert await world.job.run_once() == {}
        assert world.digests() == []
        assert world.uow.deliveries.rows == {}

    async def test_a_crash_before_the_commit_leaves_the_week_to_the_next_check(
        self, world: World
    ) -> None:
        add = world.uow.deliveries.add
        crashes = [RuntimeError("the process died")]

        async def crash_once(planned: Any) -> None:
            if crashes:
                raise crashes.pop()
            await add(planned)

        world.uow.deliveries.add = crash_once  # type: ignore[method-assign]

        assert await world.job.run_once() == {}
        assert world.digests() == []
        assert world.uow.digests.rows == {}

        assert await world.job.run_once() == {"anna": SENT}
        assert len(world.digests()) == 1

    async def test_next_week_brings_the_next_digest(self, world: World) -> None:
        await world.job.run_once()
        world.clock.advance(timedelta(days=7))

        assert await world.job.run_once() == {"anna": SENT}
        assert [n.event_id for n in world.digests()] == [
            "digest:2025-W11:anna",
            "digest:2025-W12:anna",
        ]

    async def test_a_late_start_sends_this_week_but_never_a_missed_week(self, world: World) -> None:
        # Down from before Monday of week 11 until Thursday of week 12.
        world.clock.set(datetime(2025, 3, 20, 9, 0, tzinfo=UTC))

        assert await world.job.run_once() == {"anna": SENT}
        assert [n.event_id for n in world.digests()] == ["digest:2025-W12:anna"]


class TestSkipping:
    async def test_a_week_with_nothing_to_say_is_recorded_and_not_sent(self) -> None:
        world = World()
        await world.agent()
        await world.team("t-1")  # budget, but nothing due, overdue or waiting

        assert await world.job.run_once() == {"anna": SKIPPED}
        await world.due("t-1", dt.date(2025, 3, 14))
        assert await world.job.run_once() == {}  # the week was decided

        assert world.digests() == []
        assert world.uow.digests.rows[("anna", "2025-W11")][0] == SKIPPED
        assert world.counted(SKIPPED) == 1

    async def test_retired_agents_and_those_without_a_digest_get_none(self, world: World) -> None:
        async with world.uow as uow:
            anna = await uow.agents.get("anna")
            assert anna is not None
            await uow.agents.update(an_agent("anna", digest=None))
        await world.agent("bert", retired_at=MONDAY_8)
        await world.team("t-bert", agent_id="bert")
        await world.waiting("t-bert")

        assert await world.job.run_once() == {}
        assert world.digests() == []

    async def test_an_agent_who_chose_friday_hears_nothing_on_monday(self, world: World) -> None:
        async with world.uow as uow:
            friday = DigestSchedule.parse("friday", "16:30")
            await uow.agents.update(an_agent("anna", digest=friday))

        assert await world.job.run_once() == {}
        world.clock.set(datetime(2025, 3, 14, 15, 30, tzinfo=UTC))
        assert await world.job.run_once() == {"anna": SENT}


class TestTheProfile:
    async def test_the_setting_is_kept_and_audited_with_the_profile(self) -> None:
        uow = MemoryNotifyUnitOfWork(clock=ManualClock(MONDAY_8))
        friday = DigestSchedule.parse("friday", "16:30")
        cmd = PutAgent("anna", "Anna Berger", "anna@example.org", None, None, "de", digest=friday)
        async with uow:
            await handlers.put_agent(uow, cmd)
        async with uow:
            await handlers.put_agent(uow, replace(cmd, digest=None))

        assert uow.agents.rows["anna"].digest is None
        created, updated = uow.audit_log
        assert created.after is not None
        assert created.after["digest"] == {"weekday": "friday", "time": "16:30"}
        assert updated.before == created.after
        assert updated.after is not None
        assert updated.after["digest"] is None
