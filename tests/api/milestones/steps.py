"""Steps that seed the milestones service through its consumer (intake's and budget's events)
and drive it over HTTP."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from cimis_chassis.envelope import CloudEvent
from cimis_contracts.budget import BudgetAllocatedV1
from cimis_contracts.intake import TeamAcceptedV1, TeamWithdrawnV1
from services.milestones.adapters.tables import chassis
from services.milestones.entrypoints.consumer import event_consumer
from tests.support.feed import published_event, record_of
from tests.support.service_app import RunningService
from tests.unit.milestones.builders import FIVE_STEPS, call_opened


@dataclass(frozen=True)
class Team:
    id: str
    call_id: str
    agent_id: str
    milestones: dict[str, str]  # key -> milestone id


async def deliver(svc: RunningService, *events: CloudEvent) -> None:
    """Hand records to the service's consumer, as the broker would."""
    await event_consumer(svc.host).process([record_of(e, n) for n, e in enumerate(events)])


async def accept_team(
    svc: RunningService,
    *,
    agent_id: str = "agent-anna",
    call_id: str | None = None,
    accepted_at: datetime | None = None,
    funded: bool = True,
) -> Team:
    """A new team of a new (or the given) call, accepted now, on the call's five-step plan;
    budget allocated its money at once unless not ``funded`` (its plan then waits)."""
    team_id = str(uuid.uuid4())
    call_id = call_id or str(uuid.uuid4())
    payload = TeamAcceptedV1(
        team_id=team_id,
        call_id=call_id,
        title="Terminbuchung 2.0",
        agent_id=agent_id,
        budget_cents=45_000_00,
        input_vat_deductible=False,
        company_application_id=str(uuid.uuid4()),
        creative_application_ids=[str(uuid.uuid4())],
        accepted_at=accepted_at or svc.clock.now(),
    )
    # Intake announces the call before its teams; a second announcement changes nothing.
    opened = call_opened(call_id, phase_plan=FIVE_STEPS)
    await deliver(svc, published_event(svc, opened), published_event(svc, payload))
    team = Team(team_id, call_id, agent_id, {})
    if funded:
        await fund_team(svc, team, allocated_at=payload.accepted_at)
    plan = await get_ok(svc, f"/api/v1/teams/{team_id}/milestones")
    return Team(team_id, call_id, agent_id, {m["key"]: m["id"] for m in plan["items"]})


async def fund_team(
    svc: RunningService,
    team: Team,
    *,
    allocated_at: datetime | None = None,
    from_waiting_list: bool = False,
) -> None:
    """Budget allocates the team's money (now, unless told when)."""
    payload = BudgetAllocatedV1(
        team_id=team.id,
        call_id=team.call_id,
        allocated_cents=45_000_00,
        pot_available_cents=0,
        allocated_at=allocated_at or svc.clock.now(),
        from_waiting_list=from_waiting_list,
    )
    await deliver(svc, published_event(svc, payload))


async def withdraw_team(svc: RunningService, team: Team) -> None:
    payload = TeamWithdrawnV1(
        team_id=team.id,
        call_id=team.call_id,
        reason="Unternehmen insolvent",
        was_accepted=True,
        withdrawn_at=svc.clock.now(),
    )
    await deliver(svc, published_event(svc, payload))


async def get_ok(svc: RunningService, path: str, who: str = "staff", **params: Any) -> Any:
    response = await svc.client.get(path, headers=svc.auth(who), params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def complete(
    svc: RunningService, milestone_id: str, who: str = "staff", **body: Any
) -> httpx.Response:
    """``who`` reports the milestone done, with a note unless ``body`` gives the evidence."""
    evidence = body or {"note": "Protokoll liegt vor"}
    return await svc.client.post(
        f"/api/v1/milestones/{milestone_id}/complete", json=evidence, headers=svc.auth(who)
    )


async def confirm(svc: RunningService, milestone_id: str, who: str = "staff2") -> httpx.Response:
    return await svc.client.post(
        f"/api/v1/milestones/{milestone_id}/confirm", headers=svc.auth(who)
    )


async def complete_and_confirm(
    svc: RunningService, milestone_id: str, who: str = "staff", **body: Any
) -> httpx.Response:
    """A completion as the office makes it: ``who`` reports it, another staff member confirms."""
    reported = await complete(svc, milestone_id, who, **body)
    assert reported.status_code == 200, reported.text
    return await confirm(svc, milestone_id, "staff2" if who != "staff2" else "staff")


async def reschedule(
    svc: RunningService,
    milestone_id: str,
    due_date: Any,
    reason: str = "Urlaub",
    who: str = "staff",
) -> httpx.Response:
    return await svc.client.post(
        f"/api/v1/milestones/{milestone_id}/reschedule",
        json={"due_date": due_date, "reason": reason},
        headers=svc.auth(who),
    )


async def outbox_events(
    svc: RunningService, key: str, type_: str | None = None
) -> list[dict[str, Any]]:
    """The CloudEvents the service queued for ``key``, oldest first."""
    o = chassis.outbox
    query = select(o.c.payload).where(o.c.key == key).order_by(o.c.position)
    if type_ is not None:
        query = query.where(o.c.event_type == type_)
    async with svc.host.db.sessions() as session:
        return [json.loads(p) for p in (await session.execute(query)).scalars()]


async def audit_entries(svc: RunningService, entity_id: str) -> list[dict[str, Any]]:
    a = chassis.audit_log
    async with svc.host.db.sessions() as session:
        rows = await session.execute(select(a).where(a.c.entity_id == entity_id).order_by(a.c.id))
        return [dict(r._mapping) for r in rows.all()]


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(slug), body
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body
