"""Intake's repositories on the database: reads by key through an identity map, writes at flush.

Each table is written at most once per statement kind in a unit: one multi-row INSERT for what
is new, one executemany UPDATE for what changed, one DELETE for what went.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows
from cimis_chassis.key_locks import KeyLocks
from cimis_chassis.row_store import RowStore
from cimis_chassis.text import comparison_key
from services.intake.adapters.rows import (
    agent_from_row,
    agent_row,
    application_from_row,
    application_row,
    call_from_row,
    call_row,
    creative_rows,
    team_from_row,
    team_row,
)
from services.intake.adapters.tables import (
    accepted_memberships,
    agents,
    applications,
    calls,
    team_creatives,
    teams,
)
from services.intake.domain.agents import KnownAgent
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call
from services.intake.domain.errors import StateConflict
from services.intake.domain.teams import ACCEPTED, Team
from services.intake.domain.undertakings import Grant


class SqlAgents:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore(session, agents, key="key", to_row=agent_row, from_row=agent_from_row)

    async def get(self, agent_id: str, *, lock: bool = False) -> KnownAgent | None:
        return await self._rows.get(comparison_key(agent_id), lock=lock)

    def add(self, agent: KnownAgent) -> None:
        self._rows.add(comparison_key(agent.id), agent)

    def put(self, agent: KnownAgent) -> None:
        self._rows.put(comparison_key(agent.id), agent)

    async def flush(self) -> None:
        await self._rows.flush()


class SqlCalls:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore(session, calls, key="id", to_row=call_row, from_row=call_from_row)

    def add(self, call: Call) -> None:
        self._rows.add(call.id, call)

    async def get(self, call_id: str, *, lock: bool = False) -> Call | None:
        return await self._rows.get(call_id, lock=lock)

    def put(self, call: Call) -> None:
        self._rows.put(call.id, call)

    async def flush(self) -> None:
        await self._rows.flush()


class SqlApplications:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore(
            session,
            applications,
            key="id",
            to_row=application_row,
            from_row=application_from_row,
        )

    def add(self, application: Application) -> None:
        self._rows.add(application.id, application)

    async def get_many(self, application_ids: Sequence[str]) -> dict[str, Application]:
        await self._rows.load(application_ids)
        found = {}
        for app_id in application_ids:
            # Already loaded above: no further query.
            if (application := await self._rows.get(app_id)) is not None:
                found[app_id] = application
        return found

    async def flush(self) -> None:
        await self._rows.flush()


class SqlTeams:
    """Teams with their creatives, each team read with one query (its row and creatives joined)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._known: dict[str, Team | None] = {}
        self._locked: set[str] = set()
        self._new: dict[str, None] = {}
        self._changed: set[str] = set()
        # An undertaking has no row of its own to lock: its key is locked instead.
        self._undertakings = KeyLocks(session, "intake.undertaking")

    def add(self, team: Team) -> None:
        if self._known.get(team.id) is not None:
            raise ValueError(f"team {team.id} exists already")
        self._known[team.id] = team
        self._new[team.id] = None

    async def get(self, team_id: str, *, lock: bool = False) -> Team | None:
        pending = team_id in self._new or team_id in self._changed
        if not pending and (team_id not in self._known or (lock and team_id not in self._locked)):
            await self._load(team_id, lock=lock)
        return self._known[team_id]

    def put(self, team: Team) -> None:
        known = self._known.get(team.id)
        if known is None:
            raise KeyError(f"team {team.id} was not read in this unit of work")
        if known.creative_application_ids != team.creative_application_ids:
            raise ValueError("a team's creatives are fixed when it is proposed")
        self._known[team.id] = team
        if team.id not in self._new:
            self._changed.add(team.id)

    async def lock_undertakings(self, undertaking_ids: Iterable[str]) -> None:
        await self._undertakings.lock(undertaking_ids)

    async def grants_of(self, undertaking_id: str) -> list[Grant]:
        await self.flush()
        rows = await self._session.execute(
            select(teams.c.id, teams.c.call_id, teams.c.budget_cents, teams.c.accepted_at).where(
                teams.c.undertaking_id == undertaking_id, teams.c.status == ACCEPTED
            )
        )
        return [Grant(*row) for row in rows.all()]

    async def _load(self, team_id: str, *, lock: bool) -> None:
        query = (
            select(teams, team_creatives.c.application_id.label("creative_id"))
            .outerjoin(team_creatives, team_creatives.c.team_id == teams.c.id)
            .where(teams.c.id == team_id)
            .order_by(team_creatives.c.position)
        )
        if lock:
            # OF teams: the creatives never change, and an outer join's nullable side cannot
            # be locked on PostgreSQL anyway.
            query = query.with_for_update(of=teams)
        rows = (await self._session.execute(query)).all()
        creatives = [r.creative_id for r in rows if r.creative_id is not None]
        self._known[team_id] = team_from_row(rows[0], creatives) if rows else None
        if lock:
            self._locked.add(team_id)

    async def flush(self) -> None:
        if self._new:
            added = [team for key in self._new if (team := self._known[key]) is not None]
            await insert_rows(self._session, teams, [team_row(t) for t in added])
            await insert_rows(
                self._session, team_creatives, [row for t in added for row in creative_rows(t)]
            )
            self._new.clear()
        if self._changed:
            rows = []
            for key in sorted(self._changed):
                team = self._known[key]
                assert team is not None
                values = team_row(team)
                values["_key"] = values.pop("id")
                rows.append(values)
            await self._session.execute(update(teams).where(teams.c.id == bindparam("_key")), rows)
            self._changed.clear()


class SqlMemberships:
    """Accepted memberships; a read overlays what this unit recorded or released since."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._recorded: dict[str, str] = {}
        self._released: set[str] = set()

    async def accepted_team_of(self, application_ids: Sequence[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(application_ids))
        if not wanted:
            return {}
        m = accepted_memberships
        rows = await self._session.execute(
            select(m.c.application_id, m.c.team_id).where(m.c.application_id.in_(wanted))
        )
        found = {app_id: team_id for app_id, team_id in rows.all() if team_id not in self._released}
        found.update({a: self._recorded[a] for a in wanted if a in self._recorded})
        return found

    def record(self, team: Team) -> None:
        for app_id in team.application_ids:
            if app_id in self._recorded:
                raise _taken()
        self._recorded.update(dict.fromkeys(team.application_ids, team.id))

    def release(self, team: Team) -> None:
        self._recorded = {a: t for a, t in self._recorded.items() if t != team.id}
        self._released.add(team.id)

    async def flush(self) -> None:
        m = accepted_memberships
        if self._released:
            await self._session.execute(delete(m).where(m.c.team_id.in_(sorted(self._released))))
            self._released.clear()
        if self._recorded:
            rows = [{"application_id": a, "team_id": t} for a, t in self._recorded.items()]
            self._recorded = {}
            try:
                await insert_rows(self._session, m, rows)
            except IntegrityError as exc:
                # The primary key settles two acceptances that raced past the domain's check.
                if _is_duplicate_key(exc):
                    raise _taken() from exc
                raise


def _taken() -> StateConflict:
    return StateConflict(
        "application-taken", "An application of this team is in another accepted team."
    )


def _is_duplicate_key(exc: IntegrityError) -> bool:
    # PostgreSQL names the violation by its SQLSTATE; SQLite says so only in its message.
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(
        exc.orig
    )
