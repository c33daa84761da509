"""The overdue scan: claims each overdue milestone once per due date and queues its alert.

The claim is a row in ``overdue_alerts`` keyed by (milestone id, due date), written in the same
transaction as the alert's outbox row. A scan that crashes before committing leaves neither,
so the next scan raises the alert (nothing missed); a committed claim is never raised again,
whichever instance scans next and however often it restarts (nothing repeated); a reschedule
gives a new due date and so a new key (re-armed), and a reopen forgets the claims of the
milestone's due date (re-armed too: the reopened milestone is open and overdue again).
"""

from __future__ import annotations

from datetime import date, datetime

from cimis_chassis.clock import Clock
from cimis_chassis.envelope import CloudEvent, new_event_id
from cimis_chassis.faults import crash_point
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.milestones import MilestoneEscalatedV1, MilestoneOverdueV1
from services.milestones.app.ports import (
    Alert,
    MilestoneCounts,
    MilestonesUnitOfWork,
    MilestoneView,
    UnitFactory,
)
from services.milestones.domain.calendar import berlin_day
from services.milestones.domain.plans import is_overdue

SCANNER = "scheduler:overdue-scan"


class OverdueScan:
    def __init__(
        self,
        units: UnitFactory,
        counts: MilestoneCounts,
        clock: Clock,
        *,
        batch_size: int = 500,
    ) -> None:
        self._units = units
        self._counts = counts
        self._clock = clock
        self._batch_size = batch_size

    async def run_once(self) -> list[CloudEvent]:
        """Alert every overdue milestone not alerted for its due date, then escalate every
        one still open past its escalation period; returns the alerts and escalations."""
        raised: list[CloudEvent] = []
        for escalating in (False, True):
            while True:
                seen, events = await self._scan_batch(escalating=escalating)
                raised.extend(events)
                if seen < self._batch_size:
                    break
        return raised

    async def count_overdue(self) -> int:
        return await self._counts.count_overdue(today=berlin_day(self._clock.now()))

    async def _scan_batch(self, *, escalating: bool) -> tuple[int, list[CloudEvent]]:
        """One batch of the overdue pass (alert the agent) or of the escalation pass (tell
        the office), each claimed once per milestone and due date."""
        async with self._units(Cause(SCANNER, correlation_id=new_event_id())) as uow:
            now = uow.clock.now()
            today = berlin_day(now)
            overdue = uow.overdue
            find = overdue.escalation_candidates if escalating else overdue.candidates
            candidates = await find(today=today, limit=self._batch_size)
            due = [v for v in candidates if _overdue(v, now)]
            alerts = {
                v.milestone.id: Alert(v.milestone.id, v.milestone.due_date, new_event_id())
                for v in due
            }
            claim = overdue.claim_escalations if escalating else overdue.claim
            claimed = await claim(list(alerts.values()), now)
            events = [
                await (
                    _escalate(uow, view, alerts[view.milestone.id], today)
                    if escalating
                    else _alert(uow, view, alerts[view.milestone.id])
                )
                for view in due
                if view.milestone.id in claimed
            ]
            await uow.flush()
            if not escalating:
                crash_point("overdue.before_commit", str(len(events)))
        return len(candidates), events


async def _escalate(
    uow: MilestonesUnitOfWork, view: MilestoneView, alert: Alert, today: date
) -> CloudEvent:
    uow.caused_by(Cause(actor=SCANNER, correlation_id=alert.event_id))
    m = view.milestone
    overdue_days = (today - m.due_date).days
    await uow.audit(
        "milestone.escalated",
        "milestone",
        m.id,
        before=None,
        after={"due_date": m.due_date.isoformat(), "overdue_days": overdue_days},
    )
    return await uow.emit(
        MilestoneEscalatedV1(
            team_id=m.team_id,
            call_id=view.call_id,
            milestone_id=m.id,
            key=m.key,
            title=m.title,
            due_date=m.due_date,
            overdue_days=overdue_days,
            escalated_at=uow.clock.now(),
        ),
        event_id=alert.event_id,
    )


async def _alert(uow: MilestonesUnitOfWork, view: MilestoneView, alert: Alert) -> CloudEvent:
    # Each alert starts its own causal chain: its correlation id is its own event id.
    uow.caused_by(Cause(actor=SCANNER, correlation_id=alert.event_id))
    m = view.milestone
    await uow.audit(
        "milestone.overdue_detected",
        "milestone",
        m.id,
        before=None,
        after={"due_date": m.due_date.isoformat(), "event_id": alert.event_id},
    )
    return await uow.emit(
        MilestoneOverdueV1(
            team_id=m.team_id,
            call_id=view.call_id,
            milestone_id=m.id,
            key=m.key,
            title=m.title,
            due_date=m.due_date,
            detected_at=uow.clock.now(),
        ),
        event_id=alert.event_id,
    )


def _overdue(view: MilestoneView, now: datetime) -> bool:
    m = view.milestone
    return is_overdue(m.status, view.plan_status, m.due_date, now)
