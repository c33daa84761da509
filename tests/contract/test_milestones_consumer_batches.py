"""The consumer applies a batch in a handful of statements, however many events it holds.

Statements are counted on the service's engine while the consumer applies records handed to it
as the broker would; no Kafka is needed for that. A count, not a time: how fast is the
benchmark's business (make bench).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from cimis_chassis.clock import ManualClock
from cimis_chassis.envelope import CloudEvent
from cimis_chassis.service_host import ServiceHost
from cimis_contracts.base import EventData
from services.milestones.adapters.queries import MilestoneQueries
from services.milestones.bootstrap import build_host
from services.milestones.domain.plans import ACTIVE, CLOSED, Plan
from services.milestones.entrypoints.consumer import event_consumer
from services.milestones.settings import MilestonesSettings
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite
from tests.support.feed import record_of
from tests.unit.milestones.builders import (
    ACCEPTED_AT,
    FIVE_STEPS,
    allocated,
    call_opened,
    envelope,
    team_accepted,
    team_withdrawn,
)


class ConsumerBatchContract(DatabaseContract):
    service = "milestones"
    # The statement that locks a batch's calls (SQLite's writers run alone without one).
    call_locks = 0

    @pytest.fixture
    async def host(self, database_url: str, tmp_path: Path) -> AsyncIterator[ServiceHost]:
        settings = MilestonesSettings(
            database_url=database_url, kafka_bootstrap_servers="127.0.0.1:9", var_dir=tmp_path
        )
        host = build_host(settings, ManualClock(ACCEPTED_AT))
        try:
            yield host
        finally:
            await host.db.dispose()

    async def statements(self, host: ServiceHost, *payloads: EventData) -> int:
        """Apply ``payloads`` as one batch; returns the statements it took, BEGIN excluded."""
        events: list[CloudEvent] = [envelope(p) for p in payloads]
        counted: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if not statement.lstrip().upper().startswith("BEGIN"):
                counted.append(statement)

        engine = host.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            await event_consumer(host).process([record_of(e, n) for n, e in enumerate(events)])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    async def test_acceptances_cost_the_same_statements_for_ten_teams_as_for_two_hundred(
        self, host: ServiceHost
    ) -> None:
        costs = []
        for size in (10, 200):
            call_id = str(uuid.uuid4())
            teams = [team_accepted(str(uuid.uuid4()), call_id=call_id) for _ in range(size)]
            costs.append(
                await self.statements(host, call_opened(call_id, phase_plan=FIVE_STEPS), *teams)
            )
            plan = await _plan(host, teams[-1].team_id)
            assert len(plan.milestones) == 5

        # Inbox, the calls locked, five reads (call plans, waiting teams, withdrawals, budget's
        # word, plans), and one write per table: call plans, plans, milestones, budget's word,
        # audit log, outbox.
        assert costs == [12 + self.call_locks] * 2

    async def test_withdrawals_cost_the_same_statements_for_ten_teams_as_for_two_hundred(
        self, host: ServiceHost
    ) -> None:
        costs = []
        for size in (10, 200):
            call_id = str(uuid.uuid4())
            teams = [team_accepted(str(uuid.uuid4()), call_id=call_id) for _ in range(size)]
            await self.statements(host, call_opened(call_id, phase_plan=FIVE_STEPS), *teams)
            costs.append(
                await self.statements(
                    host, *(team_withdrawn(t.team_id, call_id=call_id) for t in teams)
                )
            )
            assert (await _plan(host, teams[0].team_id)).status == CLOSED

        # Inbox, the locked plans and their milestones, one UPDATE of each, one DELETE of
        # waiting teams, one INSERT of withdrawals, audit log, outbox.
        assert costs == [9, 9]

    async def test_waiting_teams_are_planned_in_one_go_when_their_call_opens(
        self, host: ServiceHost
    ) -> None:
        call_id = str(uuid.uuid4())
        teams = [team_accepted(str(uuid.uuid4()), call_id=call_id) for _ in range(50)]
        waiting = await self.statements(host, *teams)
        opening = await self.statements(host, call_opened(call_id, phase_plan=FIVE_STEPS))

        assert (waiting, opening) == (6 + self.call_locks, 12 + self.call_locks)
        assert len((await _plan(host, teams[-1].team_id)).milestones) == 5

    async def test_late_allocations_cost_the_same_statements_for_ten_teams_as_for_two_hundred(
        self, host: ServiceHost
    ) -> None:
        costs = []
        later = ACCEPTED_AT + timedelta(days=30)
        for size in (10, 200):
            call_id = str(uuid.uuid4())
            teams = [team_accepted(str(uuid.uuid4()), call_id=call_id) for _ in range(size)]
            await self.statements(host, call_opened(call_id, phase_plan=FIVE_STEPS), *teams)
            costs.append(
                await self.statements(
                    host,
                    *(
                        allocated(
                            t.team_id, call_id=call_id, allocated_at=later, from_waiting_list=True
                        )
                        for t in teams
                    ),
                )
            )
            plan = await _plan(host, teams[-1].team_id)
            assert plan.status == ACTIVE
            # Saturday 14 September moves to Monday.
            assert plan.milestones[0].due_date == date(2024, 9, 16)

        # Inbox, budget's word and the plans locked, their milestones, one UPDATE of each of
        # the three tables, audit log, outbox (the moved due dates).
        assert costs == [9, 9]


async def _plan(host: ServiceHost, team_id: str) -> Plan:
    plan = await MilestoneQueries(host.db).plan(team_id)
    assert plan is not None
    return plan


class TestConsumerBatchesOnSqlite(OnSqlite, ConsumerBatchContract):
    pass


class TestConsumerBatchesOnPostgres(OnPostgres, ConsumerBatchContract):
    call_locks = 1
