"""Read-only queries behind the GET endpoints: the review queue and the public catalogue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.keyset import Page, keyset_page
from services.outcomes.adapters.repositories import SqlCosts, blueprint_from_row
from services.outcomes.adapters.tables import blueprint_history, blueprints, teams
from services.outcomes.domain.blueprints import PUBLISHED, Blueprint, public_count


class OutcomesQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def blueprint(self, blueprint_id: str) -> Blueprint | None:
        query = select(blueprints).where(blueprints.c.id == blueprint_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else blueprint_from_row(row)

    async def blueprints(
        self, page: Page[datetime], *, status: str | None, agent_id: str | None
    ) -> list[Blueprint]:
        """The review queue (by last change), or an agent's own teams' blueprints."""
        query = select(blueprints)
        if status:
            query = query.where(blueprints.c.status == status)
        if agent_id is not None:
            mine = select(teams.c.id).where(teams.c.agent_id == agent_id)
            query = query.where(blueprints.c.team_id.in_(mine))
        query = keyset_page(query, blueprints.c.updated_at, blueprints.c.id, page)
        return [blueprint_from_row(r) for r in (await self.session.execute(query)).all()]

    async def published(self) -> list[Blueprint]:
        """Every published blueprint: the catalogue is searched in memory (hundreds of
        blueprints per programme, not millions)."""
        query = select(blueprints).where(blueprints.c.status == PUBLISHED)
        return [blueprint_from_row(r) for r in (await self.session.execute(query)).all()]

    async def published_count(self, call_id: str, until: datetime) -> int:
        """The call's blueprints public at ``until``: by their history (a resubmission clears
        a blueprint's own dates), so that a past day's count never changes."""
        h = blueprint_history
        query = (
            select(h.c.blueprint_id, h.c.step)
            .where(h.c.call_id == call_id)
            .where(h.c.at <= until)
            .order_by(h.c.at, h.c.id)
        )
        steps = (await self.session.execute(query)).all()
        return public_count((blueprint_id, step) for blueprint_id, step in steps)

    async def costs(self, team_ids: list[str]) -> dict[str, dict[str, int]]:
        return await SqlCosts(self.session).of(team_ids)

    async def team_agent(self, team_id: str) -> str | None:
        query = select(teams.c.agent_id).where(teams.c.id == team_id)
        return (await self.session.execute(query)).scalar_one_or_none()
