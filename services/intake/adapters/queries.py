"""Read-only queries behind the API's GET endpoints: single items and keyset-paged lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.keyset import Page, keyset_page
from services.intake.adapters.rows import application_from_row, call_from_row, team_from_row
from services.intake.adapters.tables import applications, calls, team_creatives, teams
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call
from services.intake.domain.teams import Team


class IntakeQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def call(self, call_id: str) -> Call | None:
        row = (await self.session.execute(select(calls).where(calls.c.id == call_id))).first()
        return None if row is None else call_from_row(row)

    async def calls(self, page: Page[datetime]) -> list[Call]:
        query = keyset_page(select(calls), calls.c.created_at, calls.c.id, page)
        return [call_from_row(r) for r in (await self.session.execute(query)).all()]

    async def application(self, application_id: str) -> Application | None:
        query = select(applications).where(applications.c.id == application_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else application_from_row(row)

    async def applications(
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
        return [application_from_row(r) for r in (await self.session.execute(query)).all()]

    async def team(self, team_id: str) -> Team | None:
        row = (await self.session.execute(select(teams).where(teams.c.id == team_id))).first()
        if row is None:
            return None
        return (await self._with_creatives([row]))[0]

    async def teams(
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

    async def _with_creatives(self, rows: Sequence[Row[Any]]) -> list[Team]:
        # One query for the creatives of a whole page, rather than one per team.
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
        return [team_from_row(r, members[r.id]) for r in rows]
