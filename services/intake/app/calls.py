"""Opening a call: store it, audit it and announce it to the other services."""

from __future__ import annotations

import dataclasses
import uuid

from cimis_chassis.audit import snapshot
from cimis_contracts.intake import CallBudgetIncreasedV1, CallOpenedV1
from cimis_contracts.intake import PhaseStep as PhaseStepContract
from cimis_contracts.intake import TrancheRule as TrancheRuleContract
from services.intake.app.commands import OpenCall
from services.intake.app.ports import Calls, IntakeUnitOfWork
from services.intake.domain.calls import Call, increase_budget, new_call
from services.intake.domain.errors import NotFound


async def open_call(uow: IntakeUnitOfWork, cmd: OpenCall) -> Call:
    terms = {f.name: getattr(cmd, f.name) for f in dataclasses.fields(cmd)}
    call = new_call(call_id=str(uuid.uuid4()), now=uow.clock.now(), **terms)
    uow.calls.add(call)
    await uow.audit("call.opened", "call", call.id, before=None, after=snapshot(call))
    await uow.emit(
        CallOpenedV1(
            call_id=call.id,
            title=call.title,
            districts=list(call.districts),
            opens_at=call.opens_at,
            closes_at=call.closes_at,
            total_budget_cents=call.total_budget_cents,
            max_team_budget_cents=call.max_team_budget_cents,
            tranches=[
                TrancheRuleContract(milestone=t.milestone, percent=t.percent) for t in call.tranches
            ],
            phase_plan=[
                PhaseStepContract(
                    key=s.key, title=s.title, days_after_acceptance=s.days_after_acceptance
                )
                for s in call.phase_plan
            ],
            settlement_days=call.settlement_days,
            cost_plan_tolerance_percent=call.cost_plan_tolerance_percent,
            escalation_days=call.escalation_days,
            burn_rate_tolerance_percent=call.burn_rate_tolerance_percent,
        )
    )
    return call


async def existing_call(calls: Calls, call_id: str) -> Call:
    call = await calls.get(call_id)
    if call is None:
        raise NotFound("call", call_id)
    return call


async def increase_call_budget(
    uow: IntakeUnitOfWork, call_id: str, added_cents: int, reason: str, by: str
) -> Call:
    call = await uow.calls.get(call_id, lock=True)
    if call is None:
        raise NotFound("call", call_id)
    increased = increase_budget(call, added_cents, reason)
    uow.calls.put(increased)
    await uow.audit(
        "call.budget_increased",
        "call",
        call.id,
        before={"total_budget_cents": call.total_budget_cents},
        after={"total_budget_cents": increased.total_budget_cents, "reason": reason.strip()},
    )
    await uow.emit(
        CallBudgetIncreasedV1(
            call_id=call.id,
            added_cents=added_cents,
            total_budget_cents=increased.total_budget_cents,
            reason=reason.strip(),
            increased_by=by,
            increased_at=uow.clock.now(),
        )
    )
    return increased
