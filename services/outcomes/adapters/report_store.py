"""The funder's report's facts on the database: written as events arrive, read up to a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.upsert import conflict_insert
from services.outcomes.adapters.tables import (
    calls,
    report_applications,
    report_facts,
    report_milestone_steps,
)
from services.outcomes.domain.report import (
    AppliedFact,
    CallFacts,
    MilestoneStep,
    ReportFact,
)


@dataclass
class SqlReportFacts:
    session: AsyncSession

    async def open_call(
        self,
        call_id: str,
        title: str,
        districts: list[str],
        at: datetime,
        burn_rate_tolerance_percent: int,
    ) -> bool:
        stmt = conflict_insert(self.session, calls).values(
            id=call_id,
            title=title,
            districts=districts,
            opened_at=at,
            burn_rate_tolerance_percent=burn_rate_tolerance_percent,
        )
        added = await self.session.execute(stmt.on_conflict_do_nothing().returning(calls.c.id))
        return added.first() is not None

    async def applied(self, fact: AppliedFact) -> None:
        stmt = conflict_insert(self.session, report_applications).values(
            application_id=fact.application_id,
            call_id=fact.call_id,
            kind=fact.kind,
            district=fact.district,
            district_code=fact.district_code,
            eligible=fact.eligible,
            reason_codes=list(fact.reason_codes),
            received_at=fact.received_at,
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def record(self, *facts: ReportFact) -> None:
        if facts:
            await self.session.execute(
                report_facts.insert(),
                [
                    {
                        "call_id": f.call_id,
                        "team_id": f.team_id,
                        "fact": f.fact,
                        "position": f.position,
                        "cents": f.cents,
                        "district_code": f.district_code,
                        "at": f.at,
                    }
                    for f in facts
                ],
            )

    async def milestone_steps(self, *steps: MilestoneStep) -> None:
        if steps:
            await self.session.execute(
                report_milestone_steps.insert(),
                [
                    {
                        "call_id": s.call_id,
                        "team_id": s.team_id,
                        "milestone_id": s.milestone_id,
                        "step": s.step,
                        "due_date": s.due_date,
                        "at": s.at,
                    }
                    for s in steps
                ],
            )

    async def flush(self) -> None:
        """Written as they happen."""


async def call_facts(session: AsyncSession, call_id: str, until: datetime) -> CallFacts | None:
    """Everything the report of ``call_id`` counts, as it stood at ``until``."""
    call = (await session.execute(select(calls).where(calls.c.id == call_id))).first()
    if call is None:
        return None
    applied = await session.execute(
        select(report_applications)
        .where(report_applications.c.call_id == call_id)
        .where(report_applications.c.received_at <= until)
    )
    facts = await session.execute(
        select(report_facts)
        .where(report_facts.c.call_id == call_id)
        .where(report_facts.c.at <= until)
        .order_by(report_facts.c.at, report_facts.c.id)
    )
    steps = await session.execute(
        select(report_milestone_steps)
        .where(report_milestone_steps.c.call_id == call_id)
        .where(report_milestone_steps.c.at <= until)
        .order_by(report_milestone_steps.c.at, report_milestone_steps.c.id)
    )
    return CallFacts(
        call_id=call.id,
        title=call.title,
        districts=tuple(call.districts),
        applications=[_applied(r) for r in applied.all()],
        facts=[
            ReportFact(r.call_id, r.team_id, r.fact, r.position, r.cents, r.district_code, r.at)
            for r in facts.all()
        ],
        milestone_steps=[
            MilestoneStep(r.call_id, r.team_id, r.milestone_id, r.step, r.due_date, r.at)
            for r in steps.all()
        ],
    )


def _applied(row: Any) -> AppliedFact:
    return AppliedFact(
        application_id=row.application_id,
        call_id=row.call_id,
        kind=row.kind,
        district=row.district,
        district_code=row.district_code,
        eligible=row.eligible,
        reason_codes=tuple(row.reason_codes),
        received_at=row.received_at,
    )
