"""What intake announced ahead of the plans: call templates, waiting teams, withdrawals.

Each is read once per unit (a batch loads what it needs in one query per table) and written
once at the flush, with one multi-row statement per table. Waiting teams and withdrawals are
inserted with ON CONFLICT DO NOTHING: a redelivered announcement needs no read first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows
from cimis_chassis.key_locks import KeyLocks
from cimis_chassis.row_store import CHUNK, RowStore
from services.milestones.adapters.rows import team_of
from services.milestones.adapters.tables import awaiting_teams, call_plans, withdrawn_teams
from services.milestones.domain.plans import DEFAULT_ESCALATION_DAYS, AcceptedTeam, PhaseStep


@dataclass(frozen=True)
class _Template:
    call_id: str
    steps: tuple[PhaseStep, ...]
    escalation_days: int = DEFAULT_ESCALATION_DAYS


def _template_row(t: _Template) -> dict[str, Any]:
    return {
        "call_id": t.call_id,
        "phase_plan": [
            {"key": s.key, "title": s.title, "days_after_acceptance": s.days_after_acceptance}
            for s in t.steps
        ],
        "escalation_days": t.escalation_days,
    }


def _template_of(r: Row[Any]) -> _Template:
    steps = (PhaseStep(s["key"], s["title"], s["days_after_acceptance"]) for s in r.phase_plan)
    return _Template(r.call_id, tuple(steps), r.escalation_days)


class SqlCallPlans:
    def __init__(self, session: AsyncSession) -> None:
        # A plain INSERT: a call's events share one partition, so two units never race to
        # add one template; were they to, the loser's batch fails and is read again.
        self._rows = RowStore[_Template](
            session, call_plans, key="call_id", to_row=_template_row, from_row=_template_of
        )
        self._locks = KeyLocks(session, "milestones.call")

    async def lock(self, call_ids: Iterable[str]) -> None:
        await self._locks.lock(call_ids)

    async def load(self, call_ids: Iterable[str]) -> None:
        await self._rows.load(call_ids)

    async def add(
        self,
        call_id: str,
        steps: Sequence[PhaseStep],
        received_at: datetime,
        escalation_days: int = DEFAULT_ESCALATION_DAYS,
    ) -> bool:
        if await self._rows.get(call_id) is not None:
            return False
        template = _Template(call_id, tuple(steps), escalation_days)
        self._rows.add(call_id, template, received_at=received_at)
        return True

    async def escalation_days(self, call_id: str) -> int:
        template = await self._rows.get(call_id)
        return DEFAULT_ESCALATION_DAYS if template is None else template.escalation_days

    async def get(self, call_id: str) -> tuple[PhaseStep, ...] | None:
        template = await self._rows.get(call_id)
        return None if template is None else template.steps

    async def flush(self) -> None:
        await self._rows.flush()


class SqlAwaitingTeams:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._by_call: dict[str, dict[str, AcceptedTeam]] = {}  # calls read, as this unit has them
        self._added: dict[str, dict[str, Any]] = {}
        self._removed: set[str] = set()

    async def load_calls(self, call_ids: Iterable[str]) -> None:
        wanted = [c for c in dict.fromkeys(call_ids) if c not in self._by_call]
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            waiting: dict[str, dict[str, AcceptedTeam]] = {c: {} for c in chunk}
            query = select(awaiting_teams).where(awaiting_teams.c.call_id.in_(chunk))
            for r in (await self.session.execute(query)).all():
                if r.team_id not in self._removed:
                    waiting[r.call_id][r.team_id] = team_of(r)
            for row in self._added.values():
                if row["call_id"] in waiting:
                    waiting[row["call_id"]].setdefault(row["team_id"], _team(row))
            self._by_call.update(waiting)

    async def add(self, team: AcceptedTeam, received_at: datetime) -> None:
        self._removed.discard(team.team_id)
        row = _row(team, received_at)
        self._added.setdefault(team.team_id, row)
        if team.call_id in self._by_call:
            self._by_call[team.call_id].setdefault(team.team_id, team)

    async def take(self, call_id: str) -> list[AcceptedTeam]:
        await self.load_calls([call_id])
        teams = sorted(self._by_call[call_id].values(), key=lambda t: (t.accepted_at, t.team_id))
        await self.remove(t.team_id for t in teams)
        return teams

    async def remove(self, team_ids: Iterable[str]) -> None:
        for team_id in team_ids:
            self._removed.add(team_id)
            self._added.pop(team_id, None)
            for waiting in self._by_call.values():
                waiting.pop(team_id, None)

    async def reassign(self, team_id: str, agent_id: str) -> None:
        # Written at once (after what this unit queued): reassignments are rare.
        await self.flush()
        await self.session.execute(
            update(awaiting_teams)
            .where(awaiting_teams.c.team_id == team_id)
            .values(agent_id=agent_id)
        )
        for waiting in self._by_call.values():
            if team_id in waiting:
                waiting[team_id] = replace(waiting[team_id], agent_id=agent_id)

    async def flush(self) -> None:
        removed = sorted(self._removed)
        for start in range(0, len(removed), CHUNK):
            chunk = removed[start : start + CHUNK]
            await self.session.execute(
                delete(awaiting_teams).where(awaiting_teams.c.team_id.in_(chunk))
            )
        if self._added:
            await insert_rows(
                self.session, awaiting_teams, list(self._added.values()), skip_conflicts_on=()
            )
        self._removed.clear()
        self._added.clear()


def _row(team: AcceptedTeam, received_at: datetime) -> dict[str, Any]:
    return {
        "team_id": team.team_id,
        "call_id": team.call_id,
        "agent_id": team.agent_id,
        "team_title": team.title,
        "accepted_at": team.accepted_at,
        "received_at": received_at,
    }


def _team(row: dict[str, Any]) -> AcceptedTeam:
    return AcceptedTeam(
        row["team_id"], row["call_id"], row["agent_id"], row["team_title"], row["accepted_at"]
    )


class SqlWithdrawals:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._known: dict[str, bool] = {}
        self._added: dict[str, dict[str, Any]] = {}

    async def load(self, team_ids: Iterable[str]) -> None:
        wanted = [t for t in dict.fromkeys(team_ids) if t not in self._known]
        column = withdrawn_teams.c.team_id
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            found = set(
                (await self.session.execute(select(column).where(column.in_(chunk)))).scalars()
            )
            self._known.update((t, t in found) for t in chunk)

    async def record(self, team_id: str, call_id: str, at: datetime) -> None:
        if self._known.get(team_id):
            return
        self._known[team_id] = True
        self._added[team_id] = {"team_id": team_id, "call_id": call_id, "withdrawn_at": at}

    async def is_withdrawn(self, team_id: str) -> bool:
        await self.load([team_id])
        return self._known[team_id]

    async def flush(self) -> None:
        if self._added:
            await insert_rows(
                self.session, withdrawn_teams, list(self._added.values()), skip_conflicts_on=()
            )
            self._added.clear()
