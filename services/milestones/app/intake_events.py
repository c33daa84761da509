"""Handlers of intake's events: keep call templates, plan accepted teams, cancel withdrawn ones.

Events arrive at least once, and a call's events (keyed by call id) may overtake or trail its
teams' events (keyed by team id), so every handler is idempotent and tolerates either order.
"""

from __future__ import annotations

import logging
import uuid

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.text import comparison_key
from cimis_chassis.unit_of_work import UnitOfWork
from cimis_contracts.intake import CallOpenedV1, TeamAcceptedV1, TeamWithdrawnV1
from cimis_contracts.milestones import PlanCancelledV1, PlanCreatedV1, PlannedMilestone
from services.milestones.adapters.repository import MilestonesRepository
from services.milestones.app.handlers import snapshot
from services.milestones.domain import plans as plan_rules
from services.milestones.domain.plans import (
    DEFAULT_PHASE_PLAN,
    FROM_CALL,
    PROGRAMME_DEFAULT,
    PhaseStep,
)

log = logging.getLogger(__name__)


def _new_id() -> str:
    return str(uuid.uuid4())


async def on_call_opened(uow: UnitOfWork, payload: CallOpenedV1, event: CloudEvent) -> None:
    steps = plan_rules.check_phase_plan(
        [PhaseStep(s.key, s.title, s.days_after_acceptance) for s in payload.phase_plan]
    )
    repo = MilestonesRepository(uow.session)
    if await repo.add_call_plan(payload.call_id, steps, uow.clock.now()):
        await uow.audit(
            "call_plan.recorded",
            "call",
            payload.call_id,
            before=None,
            after={"phase_plan": [snapshot(s) for s in steps]},
        )


async def on_team_accepted(uow: UnitOfWork, payload: TeamAcceptedV1, event: CloudEvent) -> None:
    repo = MilestonesRepository(uow.session)
    if await repo.get_plan(payload.team_id) is not None:
        return
    if await repo.is_withdrawn(payload.team_id):
        log.info("team %s withdrew before its acceptance arrived: no plan", payload.team_id)
        return
    steps = await repo.get_call_plan(payload.call_id)
    template = FROM_CALL
    if steps is None:
        # The call's own plan has not arrived (yet): the programme default is what staff agreed.
        steps, template = DEFAULT_PHASE_PLAN, PROGRAMME_DEFAULT
        log.warning(
            "team %s accepted before call %s was opened here: default phase plan",
            payload.team_id,
            payload.call_id,
        )
    plan = plan_rules.create_plan(
        team_id=payload.team_id,
        call_id=payload.call_id,
        # Ids compare in any case and Unicode form: kept as their comparison key.
        agent_id=comparison_key(payload.agent_id),
        team_title=payload.title,
        accepted_at=payload.accepted_at,
        steps=steps,
        template=template,
        now=uow.clock.now(),
        new_id=_new_id,
    )
    await repo.add_plan(plan)
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


async def on_team_withdrawn(uow: UnitOfWork, payload: TeamWithdrawnV1, event: CloudEvent) -> None:
    repo = MilestonesRepository(uow.session)
    await repo.record_withdrawal(payload.team_id, payload.call_id, payload.withdrawn_at)
    plan = await repo.get_plan(payload.team_id, for_update=True)
    if plan is None:
        return
    cancellation = plan_rules.cancel(plan, now=uow.clock.now())
    if not cancellation.changed:
        return
    updated = cancellation.plan
    assert updated.cancelled_at is not None
    await repo.save(updated, cancellation.cancelled)
    await uow.audit(
        "plan.cancelled",
        "plan",
        plan.team_id,
        before={"status": plan.status, "open": [m.id for m in cancellation.cancelled]},
        after={"status": updated.status, "reason": payload.reason},
    )
    await uow.emit(
        PlanCancelledV1(
            team_id=plan.team_id,
            call_id=plan.call_id,
            cancelled_milestones=len(cancellation.cancelled),
            cancelled_at=updated.cancelled_at,
        )
    )
