"""The overdue alert claims: rows keyed by (milestone id, due date), claimed at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Table, and_, delete, exists, not_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from cimis_chassis.bulk import insert_rows
from services.milestones.adapters.rows import joined, shown_status_is, view_of
from services.milestones.adapters.sql_plans import SqlPlans
from services.milestones.adapters.tables import (
    milestones,
    overdue_alerts,
    overdue_escalations,
    plans,
)
from services.milestones.app.ports import Alert, MilestoneView
from services.milestones.domain.plans import ACTIVE, OVERDUE


class SqlOverdueAlerts:
    def __init__(self, session: AsyncSession, plans: SqlPlans) -> None:
        self.session = session
        # Queried by due date, so the plans this unit changed are written first.
        self._plans = plans

    async def candidates(self, *, today: date, limit: int) -> list[MilestoneView]:
        """On PostgreSQL the rows are locked with SKIP LOCKED: a concurrent scan passes over
        them instead of queueing, and a completion or reschedule waits until this scan
        committed, so an alert is never raised for a milestone completed in between. SQLite
        needs neither: its writers already run one at a time (BEGIN IMMEDIATE).
        """
        await self._plans.flush()
        alerted = _claimed_in(overdue_alerts)
        query = (
            joined()
            .where(shown_status_is(OVERDUE, today), not_(alerted))
            .order_by(milestones.c.due_date, milestones.c.id)
            .limit(limit)
            .with_for_update(of=milestones, skip_locked=True)
        )
        return [view_of(r) for r in (await self.session.execute(query)).all()]

    async def claim(self, alerts: Sequence[Alert], detected_at: datetime) -> set[str]:
        """Written now, not at the flush: the caller raises an alert only for what it claimed.

        ON CONFLICT DO NOTHING rather than catching an IntegrityError, which would abort the
        whole PostgreSQL transaction; RETURNING because rowcount is unreliable on psycopg.
        """
        return await self._claim(overdue_alerts, alerts, detected_at)

    async def escalation_candidates(self, *, today: date, limit: int) -> list[MilestoneView]:
        """Per escalation period the running plans use (a few: one per call setting), the
        overdue milestones due before today minus that period, not escalated yet; locked as
        the overdue candidates are."""
        await self._plans.flush()
        periods = await self.session.execute(
            select(plans.c.escalation_days).where(plans.c.status == ACTIVE).distinct()
        )
        escalated = _claimed_in(overdue_escalations)
        found: list[MilestoneView] = []
        for days in sorted(periods.scalars()):
            query = (
                joined()
                .where(
                    shown_status_is(OVERDUE, today),
                    plans.c.escalation_days == days,
                    milestones.c.due_date < today - timedelta(days=days),
                    not_(escalated),
                )
                .order_by(milestones.c.due_date, milestones.c.id)
                .limit(limit)
                .with_for_update(of=milestones, skip_locked=True)
            )
            found.extend(view_of(r) for r in (await self.session.execute(query)).all())
        found.sort(key=lambda v: (v.milestone.due_date, v.milestone.id))
        return found[:limit]

    async def claim_escalations(self, alerts: Sequence[Alert], detected_at: datetime) -> set[str]:
        return await self._claim(overdue_escalations, alerts, detected_at)

    async def _claim(
        self, claims: Table, alerts: Sequence[Alert], detected_at: datetime
    ) -> set[str]:
        if not alerts:
            return set()
        await self._plans.flush()
        claimed = await insert_rows(
            self.session,
            claims,
            [
                {
                    "milestone_id": a.milestone_id,
                    "due_date": a.due_date,
                    "detected_at": detected_at,
                    "event_id": a.event_id,
                }
                for a in alerts
            ],
            skip_conflicts_on=(),
            returning=["milestone_id"],
        )
        assert claimed is not None
        return set(claimed.scalars())

    async def rearm(self, milestone_id: str, due_date: date) -> None:
        for claims in (overdue_alerts, overdue_escalations):
            await self.session.execute(
                delete(claims).where(
                    claims.c.milestone_id == milestone_id, claims.c.due_date == due_date
                )
            )

    async def alerted_due_dates(self, milestone_id: str) -> list[date]:
        query = (
            select(overdue_alerts.c.due_date)
            .where(overdue_alerts.c.milestone_id == milestone_id)
            .order_by(overdue_alerts.c.due_date)
        )
        return list((await self.session.execute(query)).scalars())


def _claimed_in(claims: Table) -> ColumnElement[bool]:
    """The milestone has a claim in ``claims`` for its current due date."""
    return exists().where(
        and_(claims.c.milestone_id == milestones.c.id, claims.c.due_date == milestones.c.due_date)
    )
