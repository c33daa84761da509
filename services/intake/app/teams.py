"""A team's life: proposed from applications, accepted (announced), withdrawn (announced)."""

from __future__ import annotations

import uuid

from cimis_chassis.audit import snapshot
from cimis_chassis.text import clip
from cimis_contracts.intake import (
    TeamAcceptedV1,
    TeamProposedV1,
    TeamReassignedV1,
    TeamWithdrawnV1,
)
from services.intake.app.calls import existing_call
from services.intake.app.commands import AcceptTeam, ProposeTeam, ReassignTeam, WithdrawTeam
from services.intake.app.ports import IntakeUnitOfWork, Teams
from services.intake.domain import teams as team_rules
from services.intake.domain.agents import assignable
from services.intake.domain.districts import district_code
from services.intake.domain.errors import IntakeRuleViolation, NotFound
from services.intake.domain.teams import Team
from services.intake.domain.undertakings import check_grant


async def propose_team(uow: IntakeUnitOfWork, cmd: ProposeTeam) -> Team:
    call = await existing_call(uow.calls, cmd.call_id)
    wanted = [cmd.company_application_id, *cmd.creative_application_ids]
    found = await uow.applications.get_many(wanted)
    agent = assignable(cmd.agent_id, await uow.agents.get(cmd.agent_id))
    missing = [a for a in wanted if a not in found]
    if missing:
        raise IntakeRuleViolation(
            "unknown-application",
            f"No such application: {', '.join(clip(a) for a in dict.fromkeys(missing))}.",
        )
    team = team_rules.propose_team(
        team_id=str(uuid.uuid4()),
        call=call,
        title=cmd.title,
        challenge=cmd.challenge,
        company=found[cmd.company_application_id],
        creatives=[found[a] for a in cmd.creative_application_ids],
        agent_id=agent.id,
        budget_cents=cmd.budget_cents,
        input_vat_deductible=cmd.input_vat_deductible,
        already_in_accepted_team=await uow.memberships.accepted_team_of(wanted),
        now=uow.clock.now(),
    )
    uow.teams.add(team)
    await uow.audit("team.proposed", "team", team.id, before=None, after=snapshot(team))
    await uow.emit(
        TeamProposedV1(
            team_id=team.id,
            call_id=team.call_id,
            budget_cents=team.budget_cents,
            proposed_at=team.created_at,
        )
    )
    return team


async def accept_team(uow: IntakeUnitOfWork, cmd: AcceptTeam) -> Team:
    team = await _locked_team(uow.teams, cmd.team_id)
    taken = await uow.memberships.accepted_team_of(team.application_ids)
    now = uow.clock.now()
    accepted = team_rules.accept(
        team,
        already_in_accepted_team={a for a, t in taken.items() if t != team.id},
        now=now,
    )
    if accepted is team:
        return team
    # The agent named at proposal may have retired since: the accepted team needs one who works.
    assignable(team.agent_id, await uow.agents.get(team.agent_id))
    company = (await uow.applications.get_many([team.company_application_id]))[
        team.company_application_id
    ]
    if team.undertaking_id is not None:
        # Locked: two acceptances for one undertaking, in this call or another, are checked one
        # after the other, so the second counts the first's grant.
        await uow.teams.lock_undertakings([team.undertaking_id])
        call = await uow.calls.get(team.call_id)
        assert call is not None
        check_grant(
            team,
            undertaking_id=team.undertaking_id,
            max_per_call_cents=call.undertaking_cap_cents,
            declared_prior_aid_cents=company.facts.de_minimis_prior_aid_cents or 0,
            granted=await uow.teams.grants_of(team.undertaking_id),
            now=now,
        )
    uow.teams.put(accepted)
    uow.memberships.record(accepted)
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
            district=company.facts.district,
            district_code=district_code(company.facts.district),
        )
    )
    return accepted


async def withdraw_team(uow: IntakeUnitOfWork, cmd: WithdrawTeam) -> Team:
    team = await _locked_team(uow.teams, cmd.team_id)
    withdrawn = team_rules.withdraw(team, reason=cmd.reason, now=uow.clock.now())
    if withdrawn is team:
        return team
    uow.teams.put(withdrawn)
    uow.memberships.release(withdrawn)
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


async def reassign_team(uow: IntakeUnitOfWork, cmd: ReassignTeam) -> Team:
    team = await _locked_team(uow.teams, cmd.team_id)
    agent = assignable(cmd.agent_id, await uow.agents.get(cmd.agent_id))
    reassigned = team_rules.reassign(team, agent_id=agent.id, reason=cmd.reason)
    if reassigned is team:
        return team
    uow.teams.put(reassigned)
    await uow.audit(
        "team.reassigned",
        "team",
        team.id,
        before={"agent_id": team.agent_id},
        after={"agent_id": reassigned.agent_id, "reason": cmd.reason.strip()},
    )
    if team.status == team_rules.ACCEPTED:
        # Only accepted teams were announced; a proposed one announces its agent on acceptance.
        await uow.emit(
            TeamReassignedV1(
                team_id=team.id,
                call_id=team.call_id,
                agent_id=reassigned.agent_id,
                previous_agent_id=team.agent_id,
                reason=cmd.reason.strip(),
                reassigned_by=cmd.by,
                reassigned_at=uow.clock.now(),
            )
        )
    return reassigned


async def _locked_team(teams: Teams, team_id: str) -> Team:
    # Locked: two requests changing one team take turns instead of both deciding on stale state.
    team = await teams.get(team_id, lock=True)
    if team is None:
        raise NotFound("team", team_id)
    return team
