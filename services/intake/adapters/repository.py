"""Loads and stores intake's domain objects within one session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.keyset import Page, keyset_page
from services.intake.adapters.tables import (
    accepted_memberships,
    applications,
    calls,
    team_creatives,
    teams,
)
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call, PhaseStep, TrancheRule
from services.intake.domain.eligibility import ApplicantFacts, Eligibility, Reason
from services.intake.domain.teams import Team


class IntakeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # calls

    async def add_call(self, call: Call) -> None:
        await self.session.execute(
            insert(calls).values(
                id=call.id,
                title=call.title,
                districts=list(call.districts),
                opens_at=call.opens_at,
                closes_at=call.closes_at,
                total_budget_cents=call.total_budget_cents,
                max_team_budget_cents=call.max_team_budget_cents,
                tranches=[{"milestone": t.milestone, "percent": t.percent} for t in call.tranches],
                phase_plan=[
                    {
                        "key": s.key,
                        "title": s.title,
                        "days_after_acceptance": s.days_after_acceptance,
                    }
                    for s in call.phase_plan
                ],
                created_at=call.created_at,
            )
        )

    async def get_call(self, call_id: str) -> Call | None:
        row = (await self.session.execute(select(calls).where(calls.c.id == call_id))).first()
        return None if row is None else _call(row)

    async def list_calls(self, page: Page[datetime]) -> list[Call]:
        query = keyset_page(select(calls), calls.c.created_at, calls.c.id, page)
        return [_call(r) for r in (await self.session.execute(query)).all()]

    # applications

    async def add_application(self, app: Application) -> None:
        f = app.facts
        await self.session.execute(
            insert(applications).values(
                id=app.id,
                call_id=app.call_id,
                kind=f.kind,
                name=app.name,
                contact_email=app.contact_email,
                district=f.district,
                employees=f.employees,
                annual_turnover_cents=f.annual_turnover_cents,
                balance_sheet_total_cents=f.balance_sheet_total_cents,
                de_minimis_prior_aid_cents=f.de_minimis_prior_aid_cents,
                challenge=f.challenge,
                expertise=f.expertise,
                status=app.status,
                eligibility_reasons=[
                    {"code": r.code, "message": r.message} for r in app.eligibility.reasons
                ],
                submitted_at=app.submitted_at,
            )
        )

    async def get_applications(self, ids: Sequence[str]) -> dict[str, Application]:
        rows = (
            await self.session.execute(select(applications).where(applications.c.id.in_(ids)))
        ).all()
        return {r.id: _application(r) for r in rows}

    async def list_applications(
        self, page: Page[datetime], *, call_id: str | None, status: str | None, kind: str | None
    ) -> list[Application]:
        query = select(applications)
        if call_id:
            query = query.where(applications.c.call_id == call_id)
        if status:
            query = query.where(applications.c.status == status)
        if kind:
            query = query.where(applications.c.kind == kind)
        query = keyset_page(query, applications.c.submitted_at, applications.c.id, page)
        return [_application(r) for r in (await self.session.execute(query)).all()]

    async def accepted_team_of(self, application_ids: Sequence[str]) -> dict[str, str]:
        """Application id to the accepted team it belongs to, for those that belong to one."""
        rows = (
            await self.session.execute(
                select(accepted_memberships).where(
                    accepted_memberships.c.application_id.in_(application_ids)
                )
            )
        ).all()
        return {r.application_id: r.team_id for r in rows}

    # teams

    async def add_team(self, team: Team) -> None:
        await self.session.execute(insert(teams).values(**_team_values(team)))
        await self.session.execute(
            insert(team_creatives),
            [
                {"team_id": team.id, "application_id": app_id, "position": i}
                for i, app_id in enumerate(team.creative_application_ids)
            ],
        )

    async def get_team(self, team_id: str, *, for_update: bool = False) -> Team | None:
        query = select(teams).where(teams.c.id == team_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return (await self._with_creatives([row]))[0]

    async def list_teams(
        self, page: Page[datetime], *, call_id: str | None, status: str | None, agent_id: str | None
    ) -> list[Team]:
        query = select(teams)
        if call_id:
            query = query.where(teams.c.call_id == call_id)
        if status:
            query = query.where(teams.c.status == status)
        if agent_id is not None:
            query = query.where(teams.c.agent_id == agent_id)
        query = keyset_page(query, teams.c.created_at, teams.c.id, page)
        return await self._with_creatives((await self.session.execute(query)).all())

    async def save_team(self, team: Team) -> None:
        values = _team_values(team)
        del values["id"]
        await self.session.execute(update(teams).where(teams.c.id == team.id).values(**values))

    async def record_acceptance(self, team: Team) -> None:
        await self.session.execute(
            insert(accepted_memberships),
            [{"application_id": a, "team_id": team.id} for a in team.application_ids],
        )

    async def release_memberships(self, team: Team) -> None:
        await self.session.execute(
            delete(accepted_memberships).where(accepted_memberships.c.team_id == team.id)
        )

    async def _with_creatives(self, rows: Sequence[Row[Any]]) -> list[Team]:
        ids = [r.id for r in rows]
        members: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            result = await self.session.execute(
                select(team_creatives.c.team_id, team_creatives.c.application_id)
                .where(team_creatives.c.team_id.in_(ids))
                .order_by(team_creatives.c.team_id, team_creatives.c.position)
            )
            for team_id, app_id in result.all():
                members[team_id].append(app_id)
        return [_team(r, members[r.id]) for r in rows]


def _call(r: Row[Any]) -> Call:
    return Call(
        id=r.id,
        title=r.title,
        districts=tuple(r.districts),
        opens_at=r.opens_at,
        closes_at=r.closes_at,
        total_budget_cents=r.total_budget_cents,
        max_team_budget_cents=r.max_team_budget_cents,
        tranches=tuple(TrancheRule(t["milestone"], t["percent"]) for t in r.tranches),
        phase_plan=tuple(
            PhaseStep(s["key"], s["title"], s["days_after_acceptance"]) for s in r.phase_plan
        ),
        created_at=r.created_at,
    )


def _application(r: Row[Any]) -> Application:
    return Application(
        id=r.id,
        call_id=r.call_id,
        name=r.name,
        contact_email=r.contact_email,
        facts=ApplicantFacts(
            kind=r.kind,
            district=r.district,
            employees=r.employees,
            annual_turnover_cents=r.annual_turnover_cents,
            balance_sheet_total_cents=r.balance_sheet_total_cents,
            de_minimis_prior_aid_cents=r.de_minimis_prior_aid_cents,
            challenge=r.challenge,
            expertise=r.expertise,
        ),
        eligibility=Eligibility(
            tuple(Reason(x["code"], x["message"]) for x in r.eligibility_reasons)
        ),
        submitted_at=r.submitted_at,
    )


def _team(r: Row[Any], creatives: list[str]) -> Team:
    return Team(
        id=r.id,
        call_id=r.call_id,
        title=r.title,
        challenge=r.challenge,
        company_application_id=r.company_application_id,
        creative_application_ids=tuple(creatives),
        agent_id=r.agent_id,
        budget_cents=r.budget_cents,
        input_vat_deductible=r.input_vat_deductible,
        status=r.status,
        created_at=r.created_at,
        accepted_at=r.accepted_at,
        withdrawn_at=r.withdrawn_at,
        withdrawal_reason=r.withdrawal_reason,
    )


def _team_values(team: Team) -> dict[str, Any]:
    return {
        "id": team.id,
        "call_id": team.call_id,
        "title": team.title,
        "challenge": team.challenge,
        "company_application_id": team.company_application_id,
        "agent_id": team.agent_id,
        "budget_cents": team.budget_cents,
        "input_vat_deductible": team.input_vat_deductible,
        "status": team.status,
        "created_at": team.created_at,
        "accepted_at": team.accepted_at,
        "withdrawn_at": team.withdrawn_at,
        "withdrawal_reason": team.withdrawal_reason,
    }
