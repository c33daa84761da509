"""Drives intake's handlers on the in-memory unit of work, one committed unit per command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

from cimis_chassis.clock import ManualClock
from services.intake.adapters.unit_of_work import MemoryIntakeUnitOfWork
from services.intake.app import applications, calls, teams
from services.intake.app.commands import (
    AcceptTeam,
    OpenCall,
    ProposeTeam,
    SubmitApplication,
    WithdrawTeam,
)
from services.intake.app.ports import IntakeUnitOfWork
from services.intake.domain.agents import KnownAgent
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call
from services.intake.domain.eligibility import ApplicantFacts
from services.intake.domain.teams import Team
from tests.unit.intake.builders import NOW

C = TypeVar("C")
R = TypeVar("R")


REGISTERED_AGENTS = ("agent-anna", "agent-ben")


def a_unit() -> MemoryIntakeUnitOfWork:
    """A unit whose directory knows the agents the commands here name, as notify announced."""
    uow = MemoryIntakeUnitOfWork(clock=ManualClock(NOW))
    for agent_id in REGISTERED_AGENTS:
        uow.agents.by_key[agent_id] = KnownAgent(agent_id, agent_id.title(), updated_at=NOW)
    return uow


async def run(
    uow: MemoryIntakeUnitOfWork,
    handler: Callable[[IntakeUnitOfWork, C], Awaitable[R]],
    command: C,
) -> R:
    async with uow:
        return await handler(uow, command)


def open_call_command(**overrides: Any) -> OpenCall:
    command = OpenCall(
        title="CIMIS II",
        districts=["Erzgebirgskreis", "Chemnitz"],
        opens_at=NOW - timedelta(days=30),
        closes_at=NOW + timedelta(days=50),
        total_budget_cents=1_000_000_00,
        max_team_budget_cents=50_000_00,
        tranches=None,
        phase_plan=None,
    )
    return replace(command, **overrides)


async def an_open_call(uow: MemoryIntakeUnitOfWork) -> Call:
    return await run(uow, calls.open_call, open_call_command())


async def an_application(
    uow: MemoryIntakeUnitOfWork, call: Call, facts: ApplicantFacts, name: str = "Applicant"
) -> Application:
    command = SubmitApplication(call.id, name, "kontakt@example.org", facts)
    return await run(uow, applications.submit, command)


def propose_command(
    call: Call, company: Application, creatives: list[Application], **overrides: Any
) -> ProposeTeam:
    command = ProposeTeam(
        call_id=call.id,
        title="Digitale Werkstatt",
        challenge="Digitale Auftragsannahme",
        company_application_id=company.id,
        creative_application_ids=[c.id for c in creatives],
        agent_id="agent-anna",
        budget_cents=40_000_00,
        input_vat_deductible=False,
    )
    return replace(command, **overrides)


async def a_proposed_team(
    uow: MemoryIntakeUnitOfWork, call: Call, company: Application, creatives: list[Application]
) -> Team:
    return await run(uow, teams.propose_team, propose_command(call, company, creatives))


async def accept(uow: MemoryIntakeUnitOfWork, team: Team) -> Team:
    return await run(uow, teams.accept_team, AcceptTeam(team.id))


async def withdraw(
    uow: MemoryIntakeUnitOfWork, team: Team, reason: str = "Firma insolvent"
) -> Team:
    return await run(uow, teams.withdraw_team, WithdrawTeam(team.id, reason))
