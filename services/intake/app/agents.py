"""The agent directory as notify's events tell it: who may be named as a team's agent."""

from __future__ import annotations

from datetime import datetime

from cimis_chassis.envelope import CloudEvent
from cimis_contracts.notify import AgentRegisteredV1, AgentRetiredV1, AgentUpdatedV1
from services.intake.app.ports import IntakeUnitOfWork
from services.intake.domain import agents as agent_rules
from services.intake.domain.agents import KnownAgent


async def on_agent_registered(
    uow: IntakeUnitOfWork, payload: AgentRegisteredV1, event: CloudEvent
) -> None:
    await _learn(uow, payload.agent_id, payload.name, payload.registered_at, event)


async def on_agent_updated(
    uow: IntakeUnitOfWork, payload: AgentUpdatedV1, event: CloudEvent
) -> None:
    await _learn(uow, payload.agent_id, payload.name, payload.updated_at, event)


async def on_agent_retired(
    uow: IntakeUnitOfWork, payload: AgentRetiredV1, event: CloudEvent
) -> None:
    await _learn(uow, payload.agent_id, payload.name, payload.retired_at, event, retired=True)


async def _learn(
    uow: IntakeUnitOfWork,
    agent_id: str,
    name: str,
    at: datetime,
    event: CloudEvent,
    *,
    retired: bool = False,
) -> None:
    current = await uow.agents.get(agent_id, lock=True)
    learned = agent_rules.learned(current, agent_id=agent_id, name=name, at=at, retired=retired)
    if learned is None:
        return
    if current is None:
        uow.agents.add(learned)
    else:
        uow.agents.put(learned)
    await uow.audit(
        "agent.learned",
        "agent",
        learned.id,
        before=_snapshot(current) if current else None,
        after={**_snapshot(learned), "event": event.id},
    )


def _snapshot(agent: KnownAgent) -> dict[str, str | None]:
    return {
        "name": agent.name,
        "retired_at": agent.retired_at.isoformat() if agent.retired_at else None,
    }
