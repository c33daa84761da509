"""Handlers of intake's events: keep call plans, plan accepted teams, close withdrawn ones.

Events arrive at least once, and a call's events (keyed by call id) may overtake or trail its
teams' events (keyed by team id), so every handler is idempotent and tolerates either order:
a team accepted before its call was opened here waits for the call's plan, and a plan made
after budget's word on its team follows that word at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace

from cimis_chassis.audit import snapshot
from cimis_chassis.envelope import CloudEvent
from cimis_chassis.text import comparison_key
from cimis_contracts.base import EventData
from cimis_contracts.intake import (
    CallOpenedV1,
    TeamAcceptedV1,
    TeamReassignedV1,
    TeamWithdrawnV1,
)
from cimis_contracts.milestones import PlanCreatedV1, PlannedMilestone
from services.milestones.app.budget_events import budget_teams, payout_teams
from services.milestones.app.plan_changes import close_plan, follow_funding
from services.milestones.app.ports import MilestonesUnitOfWork
from services.milestones.domain import plans as plan_rules
from services.milestones.domain.funding import Funding
from services.milestones.domain.plans import AcceptedTeam, PhaseStep

log = logging.getLogger(__name__)


def _new_id() -> str:
    return str(uuid.uuid4())


async def prepare_batch(
    uow: MilestonesUnitOfWork, batch: Sequence[tuple[EventData, CloudEvent]]
) -> None:
    """Read what a batch of intake's and budget's events will ask for: one query per table,
    not per event."""
    opened = [p.call_id for p, _ in batch if isinstance(p, CallOpenedV1)]
    accepted = [p for p, _ in batch if isinstance(p, TeamAcceptedV1)]
    withdrawn = [p.team_id for p, _ in batch if isinstance(p, TeamWithdrawnV1)]
    funded = budget_teams(batch)
    # The calls first: what the batch then reads of their templates and waiting teams
    # includes whatever another instance committed for them (see ports.CallPlans.lock).
    await uow.call_plans.lock([*opened, *(p.call_id for p in accepted)])
    await uow.call_plans.load([*opened, *(p.call_id for p in accepted)])
    await uow.awaiting.load_calls(opened)
    await uow.withdrawals.load(p.team_id for p in accepted)
    # Teams whose call's plan is unknown here wait for it: their plan is not made yet.
    planned = [
        p.team_id
        for p in accepted
        if p.call_id in opened or await uow.call_plans.get(p.call_id) is not None
    ]
    # Budget's word is locked before the plans are read, in one query in key order, whether
    # budget's event or a new plan is about to change it (see ports.Fundings).
    await uow.funding.load([*funded, *planned], lock=True)
    await uow.plans.load(p.team_id for p in accepted)
    # A withdrawal or budget's word changes its team's plan: those rows are locked now.
    await uow.plans.load([*withdrawn, *funded], lock=True)
    # After the plans, as a reopen locks them: the plan first, then the team's payouts.
    await uow.payouts.load(payout_teams(batch), lock=True)


async def on_call_opened(
    uow: MilestonesUnitOfWork, payload: CallOpenedV1, event: CloudEvent
) -> None:
    # The plan as intake announced it: intake fills in the programme default and checks it,
    # and the contract refuses a call-opened without a well-formed plan.
    await uow.call_plans.lock([payload.call_id])
    steps = tuple(PhaseStep(s.key, s.title, s.days_after_acceptance) for s in payload.phase_plan)
    added = await uow.call_plans.add(
        payload.call_id, steps, uow.clock.now(), escalation_days=payload.escalation_days
    )
    if not added:
        return
    await uow.audit(
        "call_plan.recorded",
        "call",
        payload.call_id,
        before=None,
        after={"phase_plan": [snapshot(s) for s in steps]},
    )
    waiting = await uow.awaiting.take(payload.call_id)
    await uow.funding.load((t.team_id for t in waiting), lock=True)
    await uow.plans.load(t.team_id for t in waiting)
    for team in waiting:
        await _plan(uow, team, steps)


async def on_team_accepted(
    uow: MilestonesUnitOfWork, payload: TeamAcceptedV1, event: CloudEvent
) -> None:
    await uow.call_plans.lock([payload.call_id])
    if await uow.plans.get(payload.team_id) is not None:
        return
    if await uow.withdrawals.is_withdrawn(payload.team_id):
        log.info("team %s withdrew before its acceptance arrived: no plan", payload.team_id)
        return
    team = AcceptedTeam(
        team_id=payload.team_id,
        call_id=payload.call_id,
        # Ids compare in any case and Unicode form: kept as their comparison key.
        agent_id=comparison_key(payload.agent_id),
        title=payload.title,
        accepted_at=payload.accepted_at,
    )
    steps = await uow.call_plans.get(payload.call_id)
    if steps is None:
        log.info(
            "team %s accepted before call %s was opened here: its plan waits for the call",
            payload.team_id,
            payload.call_id,
        )
        await uow.awaiting.add(team, uow.clock.now())
        await uow.audit(
            "plan.awaiting_call", "plan", team.team_id, before=None, after=snapshot(team)
        )
        return
    await _plan(uow, team, steps)


async def _plan(
    uow: MilestonesUnitOfWork, team: AcceptedTeam, steps: tuple[PhaseStep, ...]
) -> None:
    plan = plan_rules.create_plan(
        team_id=team.team_id,
        call_id=team.call_id,
        agent_id=team.agent_id,
        team_title=team.title,
        accepted_at=team.accepted_at,
        steps=steps,
        now=uow.clock.now(),
        new_id=_new_id,
        escalation_days=await uow.call_plans.escalation_days(team.call_id),
    )
    await uow.plans.add(plan)
    await uow.audit("plan.created", "plan", plan.team_id, before=None, after=snapshot(plan))
    await uow.emit(
        PlanCreatedV1(
            team_id=plan.team_id,
            call_id=plan.call_id,
            agent_id=plan.agent_id,
            milestones=[
                PlannedMilestone(
                    milestone_id=m.id,
                    key=m.key,
                    title=m.title,
                    due_date=m.due_date,
                )
                for m in plan.milestones
            ],
            created_at=plan.created_at,
        )
    )
    funding = await uow.funding.get(plan.team_id, lock=True)
    if funding is None:
        # Not a change of state, so not audited: the row a budget event for this team,
        # applied at the same moment elsewhere, must meet (see ports.Fundings).
        await uow.funding.put(Funding(plan.team_id, plan.call_id))
    else:
        await follow_funding(uow, plan, funding)


async def on_team_withdrawn(
    uow: MilestonesUnitOfWork, payload: TeamWithdrawnV1, event: CloudEvent
) -> None:
    await uow.withdrawals.record(payload.team_id, payload.call_id, payload.withdrawn_at)
    # A team still waiting for its call's plan never gets one.
    await uow.awaiting.remove([payload.team_id])
    plan = await uow.plans.get(payload.team_id, lock=True)
    if plan is not None:
        await close_plan(uow, plan, reason=payload.reason)


async def on_team_reassigned(
    uow: MilestonesUnitOfWork, payload: TeamReassignedV1, event: CloudEvent
) -> None:
    agent_id = comparison_key(payload.agent_id)
    plan = await uow.plans.get(payload.team_id, lock=True)
    if plan is None:
        # Accepted but still waiting here for its call's plan: it waits under its new agent.
        await uow.awaiting.reassign(payload.team_id, agent_id)
        return
    if plan.agent_id == agent_id:
        return
    await uow.plans.save(replace(plan, agent_id=agent_id))
    await uow.audit(
        "plan.reassigned",
        "plan",
        plan.team_id,
        before={"agent_id": plan.agent_id},
        after={"agent_id": agent_id, "event": event.id},
    )
