"""Team plans in a unit of work: each read once with its milestones, written at the flush.

A plan is an aggregate over two tables (the plan row and its milestone rows), so it is kept
whole in an identity map beside the state the database has; the flush writes new plans with
one multi-row INSERT per table and, of the plans read, only the rows that differ, with one
executemany UPDATE per table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows
from cimis_chassis.row_store import CHUNK
from services.milestones.adapters.rows import milestone_of, milestone_row, plan_of, plan_row
from services.milestones.adapters.tables import milestones, plans
from services.milestones.domain.plans import Milestone, Plan


class SqlPlans:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._plans: dict[str, Plan | None] = {}  # as this unit has them; None: no plan
        self._stored: dict[str, Plan] = {}  # as the database has them
        self._new: dict[str, None] = {}  # added in this unit, in order
        self._locked: set[str] = set()
        self._team_of: dict[str, str] = {}  # milestone id -> team id

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None:
        wanted = [
            t
            for t in dict.fromkeys(team_ids)
            if not self._holds_changes(t)
            and (t not in self._plans or (lock and t not in self._locked))
        ]
        for start in range(0, len(wanted), CHUNK):
            await self._read(wanted[start : start + CHUNK], lock=lock)

    async def get(self, team_id: str, *, lock: bool = False) -> Plan | None:
        await self.load([team_id], lock=lock)
        return self._plans.get(team_id)

    async def of_milestone(self, milestone_id: str, *, lock: bool = False) -> Plan | None:
        team_id = self._team_of.get(milestone_id)
        if team_id is None:
            query = select(milestones.c.team_id).where(milestones.c.id == milestone_id)
            team_id = (await self.session.execute(query)).scalar_one_or_none()
            if team_id is None:
                return None
        return await self.get(team_id, lock=lock)

    async def add(self, plan: Plan) -> None:
        if await self.get(plan.team_id) is not None:
            raise ValueError(f"team {plan.team_id} has a plan already")
        self._plans[plan.team_id] = plan
        self._new[plan.team_id] = None
        self._index(plan)

    async def save(self, plan: Plan) -> None:
        known = self._plans.get(plan.team_id)
        if known is None:
            raise KeyError(f"the plan of team {plan.team_id} was not read in this unit of work")
        assert [m.id for m in plan.milestones] == [m.id for m in known.milestones]
        self._plans[plan.team_id] = plan

    async def flush(self) -> None:
        new = [p for t in self._new if (p := self._plans[t]) is not None]
        if new:
            await insert_rows(self.session, plans, [plan_row(p) for p in new])
            await insert_rows(
                self.session, milestones, [milestone_row(m) for p in new for m in p.milestones]
            )
            self._stored.update((p.team_id, p) for p in new)
            self._new.clear()
        changed_plans: list[dict[str, Any]] = []
        changed_milestones: list[dict[str, Any]] = []
        # In key order, so that two units updating overlapping plans cannot deadlock.
        for team_id, stored in sorted(self._stored.items()):
            plan = self._plans[team_id]
            if plan is None or plan == stored:
                continue
            if plan_row(plan) != plan_row(stored):
                changed_plans.append(_keyed(plan_row(plan), "team_id"))
            changed_milestones.extend(
                _keyed(milestone_row(after), "id")
                for before, after in zip(stored.milestones, plan.milestones, strict=True)
                if before != after
            )
            self._stored[team_id] = plan
        if changed_plans:
            await self.session.execute(
                update(plans).where(plans.c.team_id == bindparam("_key")), changed_plans
            )
        if changed_milestones:
            await self.session.execute(
                update(milestones).where(milestones.c.id == bindparam("_key")), changed_milestones
            )

    def _holds_changes(self, team_id: str) -> bool:
        # Read again, a plan changed in this unit would lose its change.
        if team_id in self._new:
            return True
        stored = self._stored.get(team_id)
        return stored is not None and self._plans.get(team_id) != stored

    async def _read(self, team_ids: list[str], *, lock: bool) -> None:
        query = select(plans).where(plans.c.team_id.in_(team_ids)).order_by(plans.c.team_id)
        if lock:
            # The plan row is the lock for all of the team's milestones; they are read after it.
            query = query.with_for_update()
        headers = (await self.session.execute(query)).all()
        items: dict[str, list[Milestone]] = {r.team_id: [] for r in headers}
        if items:
            rows = await self.session.execute(
                select(milestones)
                .where(milestones.c.team_id.in_(list(items)))
                .order_by(milestones.c.team_id, milestones.c.position)
            )
            for r in rows.all():
                items[r.team_id].append(milestone_of(r))
        found = {r.team_id: plan_of(r, items[r.team_id]) for r in headers}
        for team_id in team_ids:
            plan = found.get(team_id)
            self._plans[team_id] = plan
            if plan is None:
                self._stored.pop(team_id, None)
            else:
                self._stored[team_id] = plan
                self._index(plan)
        if lock:
            self._locked.update(team_ids)

    def _index(self, plan: Plan) -> None:
        self._team_of.update((m.id, plan.team_id) for m in plan.milestones)


def _keyed(values: dict[str, Any], key: str) -> dict[str, Any]:
    # The executemany UPDATE finds its row by ``_key``; the SET clause comes from the rest.
    values["_key"] = values.pop(key)
    return values
