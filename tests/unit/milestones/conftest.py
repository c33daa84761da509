"""The milestones handlers on the in-memory unit of work and a manual clock: no database."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from cimis_chassis.clock import ManualClock
from cimis_chassis.envelope import CloudEvent
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1
from services.milestones.adapters.unit_of_work import MemoryMilestonesUnitOfWork
from services.milestones.app.budget_events import on_budget_allocated
from services.milestones.app.commands import Actor, CompleteMilestone, ConfirmMilestone
from services.milestones.app.handlers import complete_milestone, confirm_milestone
from services.milestones.app.intake_events import on_call_opened, on_team_accepted, prepare_batch
from services.milestones.app.overdue import OverdueScan
from services.milestones.app.ports import MilestonesUnitOfWork
from services.milestones.domain.plans import Plan
from services.milestones.entrypoints.consumer import HANDLERS
from tests.unit.milestones.builders import (
    ACCEPTED_AT,
    FIVE_STEPS,
    allocated,
    call_opened,
    envelope,
)

T = TypeVar("T")


@dataclass
class Harness:
    clock: ManualClock
    unit: MemoryMilestonesUnitOfWork = field(init=False)

    def __post_init__(self) -> None:
        self.unit = MemoryMilestonesUnitOfWork(clock=self.clock)

    async def run(
        self, work: Callable[[MilestonesUnitOfWork], Awaitable[T]], actor: str = "api:staff"
    ) -> T:
        """Run ``work`` in one unit of work and commit, as the API does."""
        self.unit.caused_by(Cause(actor, "corr-1", "req-1"))
        async with self.unit as uow:
            return await work(uow)

    async def apply(
        self,
        handler: Callable[[MilestonesUnitOfWork, Any, CloudEvent], Awaitable[None]],
        payload: EventData,
    ) -> None:
        event = envelope(payload)
        await self.run(lambda uow: handler(uow, payload, event), actor=f"event:{event.id}")

    async def apply_batch(self, *payloads: EventData) -> None:
        """Apply events in one unit, in order, prepared first: as the consumer applies a batch."""
        batch = [(p, envelope(p)) for p in payloads]
        async with self.unit as uow:
            await prepare_batch(uow, batch)
            for payload, event in batch:
                uow.caused_by(Cause(f"event:{event.id}", event.id, event.id))
                await HANDLERS[type(payload)](uow, payload, event)

    async def accept(
        self, accepted: TeamAcceptedV1, *, funded: bool = True, escalation_days: int = 14
    ) -> Plan:
        """The team's plan once its call (with the five-step plan) opened and it was accepted;
        running, as budget allocated the team's money on acceptance, unless not ``funded``."""
        opened = call_opened(
            accepted.call_id, phase_plan=FIVE_STEPS, escalation_days=escalation_days
        )
        await self.apply(on_call_opened, opened)
        await self.apply(on_team_accepted, accepted)
        if funded:
            on_time = allocated(
                accepted.team_id, call_id=accepted.call_id, allocated_at=accepted.accepted_at
            )
            await self.apply(on_budget_allocated, on_time)
        return await self.plan(accepted.team_id)

    async def plan(self, team_id: str = "team-1") -> Plan:
        plan = self.unit.plans.plans.get(team_id)
        assert plan is not None, f"no plan for {team_id}"
        return plan

    async def has_plan(self, team_id: str) -> bool:
        return team_id in self.unit.plans.plans

    async def events(
        self, type_: str | None = None, key: str | None = None
    ) -> list[dict[str, Any]]:
        """The committed CloudEvents as the outbox holds them, oldest first."""
        return [
            json.loads(e.to_json_bytes())
            for e in self.unit.committed_events
            if (type_ is None or e.type == type_) and (key is None or e.subject == key)
        ]

    async def audit(self, action: str) -> list[dict[str, Any]]:
        return [vars(entry) for entry in self.unit.audit_log if entry.action == action]

    def scan(self, batch_size: int = 500) -> OverdueScan:
        return OverdueScan(self._unit_for, self.unit.plans, self.clock, batch_size=batch_size)

    def _unit_for(self, cause: Cause) -> MemoryMilestonesUnitOfWork:
        self.unit.caused_by(cause)
        return self.unit


@pytest.fixture
def harness() -> Harness:
    return Harness(ManualClock(ACCEPTED_AT))


async def complete_and_confirm(uow: MilestonesUnitOfWork, cmd: CompleteMilestone) -> None:
    """A completion as the office makes it: reported by ``cmd``'s actor, confirmed by another
    staff member."""
    await complete_milestone(uow, cmd)
    await confirm_milestone(uow, ConfirmMilestone(cmd.milestone_id, Actor("sven-staff", False)))
