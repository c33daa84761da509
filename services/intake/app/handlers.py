"""Intake's command handlers: load, apply the domain rule, store, audit and emit in one unit."""

from __future__ import annotations

import dataclasses
import uuid

from cimis_chassis.audit import snapshot
from cimis_chassis.text import clip
from cimis_chassis.unit_of_work import UnitOfWork
from cimis_contracts.intake import (
    CallOpenedV1,
    TeamAcceptedV1,
    TeamWithdrawnV1,
)
from cimis_contracts.intake import (
    PhaseStep as PhaseStepContract,
)
from cimis_contracts.intake import (
    TrancheRule as TrancheRuleContract,
)
from services.intake.adapters.repository import IntakeRepository
from services.intake.app.commands import (
    AcceptTeam,
    OpenCall,
    ProposeTeam,
    SubmitApplication,
    WithdrawTeam,
)
from services.intake.domain import teams as team_rules
from services.intake.domain.applications import Application, submit_application
from services.intake.domain.calls import Call, new_call
from services.intake.domain.errors import IntakeRuleViolation, NotFound
from services.intake.domain.teams import Team


def _new_id() -> str:
    return str(uuid.uuid4())


async def _call(repo: IntakeRepository, call_id: str) -> Call:
    call = await repo.get_call(call_id)
    if call is None:
        raise NotFound("call", call_id)
    return call


async def open_call(uow: UnitOfWork, cmd: OpenCall) -> Call:
    repo = IntakeRepository(uow.session)
    terms = {f.name: getattr(cmd, f.name) for f in dataclasses.fields(cmd)}
    call = new_call(call_id=_new_id(), now=uow.clock.now(), **terms)
    await repo.add_call(call)
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
                    key=s.key,
                    title=s.title,
                    days_after_acceptance=s.days_after_acceptance,
                )
                for s in call.phase_plan
            ],
        )
    )
    return call


async def submit(uow: UnitOfWork, cmd: SubmitApplication) -> Application:
    repo = IntakeRepository(uow.session)
    call = await _call(repo, cmd.call_id)
    application = submit_application(
        application_id=_new_id(),
        call=call,
        name=cmd.name,
        contact_email=cmd.contact_email,
        facts=cmd.facts,
        received_at=uow.clock.now(),
    )
    await repo.add_application(application)
    await uow.audit(
        "application.submitted",
        "application",
        application.id,
        before=None,
        after=snapshot(application) | {"status": application.status},
    )
    return application


async def propose_team(uow: UnitOfWork, cmd: ProposeTeam) -> Team:
    repo = IntakeRepository(uow.session)
    call = await _call(repo, cmd.call_id)
    wanted = [cmd.company_application_id, *cmd.creative_application_ids]
    found = await repo.get_applications(wanted)
    missing = [a for a in wanted if a not in found]
    if missing:
        raise IntakeRuleViolation(
            "unknown-application",
            f"No such application: {', '.join(clip(a) for a in dict.fromkeys(missing))}.",
        )
    team = team_rules.propose_team(
        team_id=_new_id(),
        call=call,
        title=cmd.title,
        challenge=cmd.challenge,
        company=found[cmd.company_application_id],
        creatives=[found[a] for a in cmd.creative_application_ids],
        agent_id=cmd.agent_id,
        budget_cents=cmd.budget_cents,
        input_vat_deductible=cmd.input_vat_deductible,
        already_in_accepted_team=await repo.accepted_team_of(wanted),
        now=uow.clock.now(),
    )
    await repo.add_team(team)
    await uow.audit("team.proposed", "team", team.id, before=None, after=snapshot(team))
    return team


async def accept_team(uow: UnitOfWork, cmd: AcceptTeam) -> Team:
    repo = IntakeRepository(uow.session)
    team = await repo.get_team(cmd.team_id, for_update=True)
    if team is None:
        raise NotFound("team", cmd.team_id)
    taken = await repo.accepted_team_of(team.application_ids)
    accepted = team_rules.accept(
        team,
        already_in_accepted_team={a for a, t in taken.items() if t != team.id},
        now=uow.clock.now(),
    )
    if accepted is team:
        return team
    await repo.save_team(accepted)
    await repo.record_acceptance(accepted)
    await uow.audit(
        "team.accepted", "team", team.id, before=snapshot(team), after=snapshot(accepted)
    )
    assert accepted.accepted_at is not None
    await uow.emit(
        TeamAcceptedV1(
            team_id=accepted.id,
            call_id=accepted.call_id,
            title=accepted.title,
            agent_id=accepted.agent_id,
            budget_cents=accepted.budget_cents,
            input_vat_deductible=accepted.input_vat_deductible,
            company_application_id=accepted.company_application_id,
            creative_application_ids=list(accepted.creative_application_ids),
            accepted_at=accepted.accepted_at,
        )
    )
    return accepted


async def withdraw_team(uow: UnitOfWork, cmd: WithdrawTeam) -> Team:
    repo = IntakeRepository(uow.session)
    team = await repo.get_team(cmd.team_id, for_update=True)
    if team is None:
        raise NotFound("team", cmd.team_id)
    withdrawn = team_rules.withdraw(team, reason=cmd.reason, now=uow.clock.now())
    if withdrawn is team:
        return team
    await repo.save_team(withdrawn)
    await repo.release_memberships(withdrawn)
    await uow.audit(
        "team.withdrawn", "team", team.id, before=snapshot(team), after=snapshot(withdrawn)
    )
    assert withdrawn.withdrawn_at is not None
    assert withdrawn.withdrawal_reason is not None
    await uow.emit(
        TeamWithdrawnV1(
            team_id=withdrawn.id,
            call_id=withdrawn.call_id,
            reason=withdrawn.withdrawal_reason,
            was_accepted=team.status == team_rules.ACCEPTED,
            withdrawn_at=withdrawn.withdrawn_at,
        )
    )
    return withdrawn
