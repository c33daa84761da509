"""Two budget instances on one database: a call's events and its teams' are keyed differently,
so two instances may apply a call's opening and a team's acceptance at the same moment."""

from __future__ import annotations

import pytest

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from services.budget.adapters.tables import chassis
from services.budget.adapters.unit_of_work import SqlBudgetUnitOfWork
from services.budget.app.events import load_batch
from services.budget.domain import budgets
from services.budget.entrypoints.consumer import HANDLERS
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite
from tests.contract.races import race_two_instances
from tests.unit.budget.test_event_handlers import START, _event, call_opened, team_accepted


class InstancesContract(DatabaseContract):
    service = "budget"

    @staticmethod
    def unit(db: Database) -> SqlBudgetUnitOfWork:
        return SqlBudgetUnitOfWork(
            db, chassis, clock=ManualClock(START), source="cimis/budget", cause=Cause("t", "c")
        )

    async def apply(self, uow: SqlBudgetUnitOfWork, payload: EventData) -> None:
        """As the consumer applies a batch of one."""
        batch = [(payload, _event(payload, ManualClock(START)))]
        await load_batch(uow, batch)
        for p, event in batch:
            await HANDLERS[type(p)](uow, p, event)

    @pytest.mark.parametrize("first", ["call", "team"])
    async def test_a_call_and_its_team_applied_at_once_by_two_instances_meet(
        self, db: Database, database_url: str, first: str
    ) -> None:
        opened, accepted = call_opened(), team_accepted("team-1")
        held, rival = (opened, accepted) if first == "call" else (accepted, opened)
        await race_two_instances(
            db,
            database_url,
            self.unit,
            lambda uow: self.apply(uow, held),
            lambda uow: self.apply(uow, rival),
        )
        async with self.unit(db) as uow:
            team = await uow.teams.get("team-1")
        assert team is not None
        assert team.status == budgets.ALLOCATED, "the team waits for a pot that is open"
        assert team.allocated_cents == 40_000_00


class TestInstancesOnSqlite(OnSqlite, InstancesContract):
    pass


class TestInstancesOnPostgres(OnPostgres, InstancesContract):
    pass
