"""Outcomes' repositories on the database: small tables, written as each change happens.

Idempotence comes from the unit of work's inbox (an event is applied once, with its effects,
in one transaction), so an approved expense may simply add to its line's total.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.upsert import conflict_insert
from services.outcomes.adapters.tables import (
    blueprint_history,
    blueprints,
    plan_states,
    team_costs,
    teams,
)
from services.outcomes.domain.blueprints import Blueprint, Contact, Content
from services.outcomes.domain.teams import RUNNING, TeamRecord


class SqlTeams:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, team_id: str) -> TeamRecord | None:
        query = (
            select(teams, plan_states.c.status)
            .outerjoin(plan_states, plan_states.c.team_id == teams.c.id)
            .where(teams.c.id == team_id)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else _team(row)

    async def add(self, team: TeamRecord) -> bool:
        """Keep an accepted team; False when it was known already."""
        stmt = conflict_insert(self.session, teams).values(
            id=team.id,
            call_id=team.call_id,
            title=team.title,
            agent_id=team.agent_id,
            accepted_at=team.accepted_at,
            district=team.district,
            district_code=team.district_code,
        )
        added = await self.session.execute(stmt.on_conflict_do_nothing().returning(teams.c.id))
        return added.first() is not None

    async def reassign(self, team_id: str, agent_id: str) -> None:
        await self.session.execute(
            update(teams).where(teams.c.id == team_id).values(agent_id=agent_id)
        )

    async def withdraw(self, team_id: str, at: datetime) -> None:
        await self.session.execute(
            update(teams).where(teams.c.id == team_id).values(withdrawn_at=at)
        )

    async def set_plan_status(self, team_id: str, status: str) -> None:
        stmt = conflict_insert(self.session, plan_states).values(team_id=team_id, status=status)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[plan_states.c.team_id], set_={"status": status}
            )
        )

    async def flush(self) -> None:
        """Written as they happen."""


class SqlCosts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, team_id: str, position: str, cents: int) -> None:
        stmt = conflict_insert(self.session, team_costs).values(
            team_id=team_id, position=position, approved_cents=cents
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[team_costs.c.team_id, team_costs.c.position],
                set_={"approved_cents": team_costs.c.approved_cents + cents},
            )
        )

    async def of(self, team_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Approved cents per budget line, per team."""
        found: dict[str, dict[str, int]] = {t: {} for t in team_ids}
        if not team_ids:
            return found
        rows = await self.session.execute(
            select(team_costs).where(team_costs.c.team_id.in_(list(team_ids)))
        )
        for row in rows.all():
            found[row.team_id][row.position] = row.approved_cents
        return found

    async def flush(self) -> None:
        """Written as they happen."""


class SqlBlueprints:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_team(self, team_id: str, *, lock: bool = False) -> Blueprint | None:
        return await self._one(select(blueprints).where(blueprints.c.team_id == team_id), lock)

    async def get(self, blueprint_id: str, *, lock: bool = False) -> Blueprint | None:
        return await self._one(select(blueprints).where(blueprints.c.id == blueprint_id), lock)

    async def add(self, blueprint: Blueprint) -> None:
        await self.session.execute(blueprints.insert().values(**blueprint_row(blueprint)))

    async def put(self, blueprint: Blueprint) -> None:
        values = blueprint_row(blueprint)
        del values["id"]
        await self.session.execute(
            update(blueprints).where(blueprints.c.id == blueprint.id).values(**values)
        )

    async def happened(self, blueprint: Blueprint, step: str, at: datetime) -> None:
        await self.session.execute(
            blueprint_history.insert().values(
                blueprint_id=blueprint.id, call_id=blueprint.call_id, step=step, at=at
            )
        )

    async def _one(self, query: Any, lock: bool) -> Blueprint | None:
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else blueprint_from_row(row)

    async def flush(self) -> None:
        """Written as they happen."""


def _team(row: Row[Any]) -> TeamRecord:
    return TeamRecord(
        id=row.id,
        call_id=row.call_id,
        title=row.title,
        agent_id=row.agent_id,
        accepted_at=row.accepted_at,
        district=row.district,
        district_code=row.district_code,
        plan_status=row.status or RUNNING,
        withdrawn_at=row.withdrawn_at,
    )


def blueprint_row(blueprint: Blueprint) -> dict[str, Any]:
    content = blueprint.content
    return {
        "id": blueprint.id,
        "team_id": blueprint.team_id,
        "call_id": blueprint.call_id,
        "title": content.title,
        "problem": content.problem,
        "solution": content.solution,
        "tools": list(content.tools),
        "lessons": content.lessons,
        "sector": content.sector,
        "licence": content.licence,
        "contacts": [
            {"name": c.name, "role": c.role, "consent": c.consent} for c in content.contacts
        ],
        "district": blueprint.district,
        "district_code": blueprint.district_code,
        "status": blueprint.status,
        "version": blueprint.version,
        "submitted_by": blueprint.submitted_by,
        "submitted_at": blueprint.submitted_at,
        "updated_at": blueprint.updated_at,
        "review_comment": blueprint.review_comment,
        "published_at": blueprint.published_at,
        "withdrawn_at": blueprint.withdrawn_at,
        "withdrawal_reason": blueprint.withdrawal_reason,
    }


def blueprint_from_row(row: Row[Any]) -> Blueprint:
    return Blueprint(
        id=row.id,
        team_id=row.team_id,
        call_id=row.call_id,
        content=Content(
            title=row.title,
            problem=row.problem,
            solution=row.solution,
            tools=tuple(row.tools),
            lessons=row.lessons,
            sector=row.sector,
            licence=row.licence,
            contacts=tuple(Contact(c["name"], c["role"], c["consent"]) for c in row.contacts),
        ),
        district=row.district,
        district_code=row.district_code,
        status=row.status,
        version=row.version,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
        review_comment=row.review_comment,
        published_at=row.published_at,
        withdrawn_at=row.withdrawn_at,
        withdrawal_reason=row.withdrawal_reason,
    )
