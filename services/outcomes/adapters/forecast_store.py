"""The teams whose burn rate is watched, and each one's last announced status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.upsert import conflict_insert
from services.outcomes.adapters.report_store import TeamProgress, team_progress
from services.outcomes.adapters.tables import forecast_states, plan_states, teams
from services.outcomes.domain.teams import RUNNING


@dataclass(frozen=True)
class Watched:
    progress: TeamProgress
    last_status: str | None


@dataclass
class SqlForecastStates:
    session: AsyncSession

    async def watched(self, until: datetime) -> list[Watched]:
        """Every accepted team whose plan runs, with its progress and its last status."""
        query = (
            select(teams.c.id, forecast_states.c.status)
            .outerjoin(plan_states, plan_states.c.team_id == teams.c.id)
            .outerjoin(forecast_states, forecast_states.c.team_id == teams.c.id)
            .where(teams.c.withdrawn_at.is_(None))
            .where((plan_states.c.status.is_(None)) | (plan_states.c.status == RUNNING))
            .order_by(teams.c.id)
        )
        found = []
        for team_id, last in (await self.session.execute(query)).all():
            progress = await team_progress(self.session, team_id, until)
            if progress is not None and progress.plan_ends_on is not None:
                found.append(Watched(progress, last))
        return found

    async def change(
        self, team_id: str, *, was: str | None, now_is: str, as_of: date, at: datetime
    ) -> bool:
        """Record the new status if the last one is still ``was``: True for the one scan that
        wins, so that a change is announced once, however many instances scan."""
        if was is None:
            stmt = conflict_insert(self.session, forecast_states).values(
                team_id=team_id, status=now_is, as_of=as_of, updated_at=at
            )
            added = await self.session.execute(
                stmt.on_conflict_do_nothing().returning(forecast_states.c.team_id)
            )
            return added.first() is not None
        result = cast(
            CursorResult[Any],
            await self.session.execute(
                update(forecast_states)
                .where(forecast_states.c.team_id == team_id)
                .where(forecast_states.c.status == was)
                .values(status=now_is, as_of=as_of, updated_at=at)
            ),
        )
        return bool(result.rowcount)

    async def flush(self) -> None:
        """Written as they happen."""
