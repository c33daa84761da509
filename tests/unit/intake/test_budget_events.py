"""Intake learns what budget made of an accepted team from budget's events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cimis_chassis.envelope import CloudEvent, make_event
from cimis_contracts.base import EventData
from cimis_contracts.budget import AllocationRefusedV1, BudgetAllocatedV1, BudgetClosedV1
from services.intake.adapters.unit_of_work import MemoryIntakeUnitOfWork
from services.intake.entrypoints.consumer import HANDLERS
from tests.unit.intake.builders import company_facts, creative_facts
from tests.unit.intake.steps import a_proposed_team, a_unit, accept, an_application, an_open_call

AT = datetime(2024, 8, 1, 9, 0, tzinfo=UTC)


def envelope(payload: EventData) -> CloudEvent:
    return make_event(
        source="cimis/budget",
        type_=payload.TYPE,
        subject=payload.subject(),
        time=AT,
        data=payload.model_dump(mode="json"),
    )


async def apply(uow: MemoryIntakeUnitOfWork, payload: EventData) -> None:
    async with uow:
        await HANDLERS[type(payload)](uow, payload, envelope(payload))


def refused(team_id: str, code: str) -> AllocationRefusedV1:
    return AllocationRefusedV1(
        team_id=team_id,
        call_id="c",
        requested_cents=45_000_00,
        pot_available_cents=5_000_00,
        reason_code=code,
        reason="x",
        refused_at=AT,
    )


def allocated(team_id: str, **overrides: Any) -> BudgetAllocatedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "c",
        "allocated_cents": 45_000_00,
        "pot_available_cents": 0,
        "allocated_at": AT,
    }
    return BudgetAllocatedV1(**(fields | overrides))


async def an_accepted_team(uow: MemoryIntakeUnitOfWork) -> str:
    call = await an_open_call(uow)
    company = await an_application(uow, call, company_facts(), "Werkstatt")
    creative = await an_application(uow, call, creative_facts(), "Anna")
    team = await accept(uow, await a_proposed_team(uow, call, company, [creative]))
    assert team.budget_status == "pending"
    return team.id


async def status(uow: MemoryIntakeUnitOfWork, team_id: str) -> str:
    async with uow:
        team = await uow.teams.get(team_id)
    assert team is not None
    return team.budget_status


async def test_a_team_waits_then_is_funded_then_closes() -> None:
    uow = a_unit()
    team_id = await an_accepted_team(uow)

    await apply(uow, refused(team_id, "pot-exhausted"))
    assert await status(uow, team_id) == "waiting"
    await apply(uow, allocated(team_id, from_waiting_list=True))
    assert await status(uow, team_id) == "allocated"
    await apply(
        uow,
        BudgetClosedV1(
            team_id=team_id, call_id="c", returned_cents=0, approved_cents=0, closed_at=AT
        ),
    )
    assert await status(uow, team_id) == "closed"
    assert [e.action for e in uow.audit_log if e.action == "team.budget_status"] == [
        "team.budget_status"
    ] * 3


async def test_a_refusal_above_the_team_maximum_is_a_refusal() -> None:
    uow = a_unit()
    team_id = await an_accepted_team(uow)
    await apply(uow, refused(team_id, "above-team-maximum"))
    assert await status(uow, team_id) == "refused"


async def test_an_event_about_a_team_intake_does_not_know_changes_nothing() -> None:
    uow = a_unit()
    await apply(uow, allocated("never-proposed"))
    assert [e for e in uow.audit_log if e.action == "team.budget_status"] == []
