"""Staff's commands on the fakes: putting an agent's profile, marking a notification read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cimis_chassis.clock import ManualClock
from cimis_contracts.notify import AgentRegisteredV1, AgentRetiredV1, AgentUpdatedV1
from services.notify.adapters.unit_of_work import MemoryNotifyUnitOfWork
from services.notify.app import handlers
from services.notify.app.commands import MarkRead, PutAgent
from services.notify.domain.agents import Agent
from services.notify.domain.errors import Forbidden, NotFound, NotifyRuleViolation
from tests.unit.notify.builders import NOW, a_notification, quiet


def put(agent_id: str = "anna", **overrides: object) -> PutAgent:
    fields: dict[str, object] = {
        "agent_id": agent_id,
        "name": "Anna Berger",
        "email": "anna@example.org",
        "webhook_url": None,
        "quiet_hours": quiet("20:00", "07:00"),
        "language": "de",
    }
    return PutAgent(**(fields | overrides))  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def uow(clock: ManualClock) -> MemoryNotifyUnitOfWork:
    return MemoryNotifyUnitOfWork(clock=clock)


async def run_put(uow: MemoryNotifyUnitOfWork, cmd: PutAgent) -> Agent:
    async with uow:
        return await handlers.put_agent(uow, cmd)


class TestPutAgent:
    async def test_a_new_agent_is_stored_and_audited_as_created(
        self, uow: MemoryNotifyUnitOfWork
    ) -> None:
        agent = await run_put(uow, put())

        assert uow.agents.rows["anna"] == agent
        assert (agent.created_at, agent.updated_at, agent.language) == (NOW, NOW, "de")
        [entry] = uow.audit_log
        assert (entry.action, entry.entity_type, entry.entity_id) == (
            "agent.created",
            "agent",
            "anna",
        )
        assert entry.before is None
        assert entry.after is not None
        assert entry.after["quiet_hours"] == {"start": "20:00", "end": "07:00"}
        [announced] = uow.committed_events
        assert announced.type == AgentRegisteredV1.TYPE
        assert (announced.subject, announced.data) == (
            "anna",
            {"agent_id": "anna", "name": "Anna Berger", "registered_at": "2025-03-04T10:15:00Z"},
        )

    async def test_a_changed_profile_replaces_the_old_keeping_its_creation_time(
        self, uow: MemoryNotifyUnitOfWork, clock: ManualClock
    ) -> None:
        await run_put(uow, put())
        clock.advance(timedelta(hours=1))

        changed = await run_put(uow, put(email="neu@example.org", quiet_hours=None))

        assert uow.agents.rows["anna"] == changed
        assert (changed.created_at, changed.updated_at) == (NOW, NOW + timedelta(hours=1))
        updated = uow.audit_log[-1]
        assert updated.action == "agent.updated"
        assert updated.before is not None
        assert updated.after is not None
        assert (updated.before["email"], updated.after["email"]) == (
            "anna@example.org",
            "neu@example.org",
        )

    async def test_the_same_profile_again_writes_and_audits_nothing(
        self, uow: MemoryNotifyUnitOfWork, clock: ManualClock
    ) -> None:
        first = await run_put(uow, put())
        clock.advance(timedelta(hours=1))

        again = await run_put(uow, put())

        assert again == first == uow.agents.rows["anna"]
        assert len(uow.audit_log) == 1
        assert [e.type for e in uow.committed_events] == [AgentRegisteredV1.TYPE]

    async def test_a_change_is_announced_as_an_update_and_retirement_once(
        self, uow: MemoryNotifyUnitOfWork, clock: ManualClock
    ) -> None:
        await run_put(uow, put())
        clock.advance(timedelta(hours=1))
        await run_put(uow, put(name="Anna Rösner"))
        clock.advance(timedelta(hours=1))
        for _ in range(2):
            async with uow:
                await handlers.retire_agent(uow, "anna")

        registered, updated, retired = uow.committed_events
        assert (registered.type, updated.type, retired.type) == (
            AgentRegisteredV1.TYPE,
            AgentUpdatedV1.TYPE,
            AgentRetiredV1.TYPE,
        )
        assert updated.data["name"] == retired.data["name"] == "Anna Rösner"
        assert retired.data["retired_at"] == (NOW + timedelta(hours=2)).isoformat().replace(
            "+00:00", "Z"
        )

    async def test_the_staff_mailboxs_name_is_refused_and_nothing_is_stored(
        self, uow: MemoryNotifyUnitOfWork
    ) -> None:
        with pytest.raises(NotifyRuleViolation):
            await run_put(uow, put("staff"))

        assert uow.agents.rows == {}
        assert uow.audit_log == []


class TestMarkRead:
    async def stored(self, uow: MemoryNotifyUnitOfWork) -> None:
        async with uow:
            assert await uow.notifications.add(a_notification("n-1", recipient="anna"))

    async def test_the_recipient_marks_it_read_once_and_it_is_audited(
        self, uow: MemoryNotifyUnitOfWork, clock: ManualClock
    ) -> None:
        await self.stored(uow)

        async with uow:
            read = await handlers.read_notification(uow, MarkRead("n-1", acting_for="anna"))
        clock.advance(timedelta(hours=1))
        async with uow:
            again = await handlers.read_notification(uow, MarkRead("n-1", acting_for="anna"))

        assert read.read_at == NOW
        assert again == read == uow.notifications.rows["n-1"]
        [entry] = uow.audit_log
        assert (entry.action, entry.entity_id, entry.after) == (
            "notification.read",
            "n-1",
            {"read_at": NOW.isoformat()},
        )

    async def test_an_admin_may_mark_anyones(self, uow: MemoryNotifyUnitOfWork) -> None:
        await self.stored(uow)

        async with uow:
            read = await handlers.read_notification(uow, MarkRead("n-1", acting_for=None))

        assert read.read_at == NOW

    async def test_another_agent_may_not_and_nothing_changes(
        self, uow: MemoryNotifyUnitOfWork
    ) -> None:
        await self.stored(uow)

        with pytest.raises(Forbidden):
            async with uow:
                await handlers.read_notification(uow, MarkRead("n-1", acting_for="ben"))

        assert uow.notifications.rows["n-1"].read_at is None
        assert uow.audit_log == []

    async def test_an_unknown_notification_is_not_found(self, uow: MemoryNotifyUnitOfWork) -> None:
        with pytest.raises(NotFound):
            async with uow:
                await handlers.read_notification(uow, MarkRead("nope", acting_for=None))
