"""The weekly digest job: for each agent whose digest moment has passed this week, one mail.

Each agent's week is decided in its own transaction: the record in ``digests`` keyed by
(agent, ISO week) is written with the notification, its deliveries and the outbox row, or
not at all. A crash before the commit leaves nothing, so the next check decides the week
again; a committed record is never decided again, whichever instance checks next. Two
instances racing both try the record's insert and only one gets it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from cimis_chassis.envelope import new_event_id
from cimis_chassis.unit_of_work import Cause
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.templates import TemplateRenderer
from services.notify.app.inbox import deliver
from services.notify.app.ports import NotifyUnitOfWork, UnitFactory
from services.notify.domain.agents import Agent
from services.notify.domain.delivery import routes_for
from services.notify.domain.digest import WEEKLY_DIGEST, Digest, build_digest
from services.notify.domain.digest_schedule import (
    berlin_today,
    digest_event_id,
    due_week,
    iso_week,
)
from services.notify.domain.notifications import Notification

log = logging.getLogger(__name__)

SENDER = "scheduler:weekly-digest"
SENT, SKIPPED = "sent", "skipped"


class WeeklyDigests:
    def __init__(
        self, units: UnitFactory, renderer: TemplateRenderer, metrics: NotifyMetrics | None = None
    ) -> None:
        self._units = units
        self._renderer = renderer
        self._metrics = metrics

    async def run_once(self) -> dict[str, str]:
        """Decide every digest due now; returns each decided agent's outcome (sent, skipped)."""
        async with self._units(Cause(SENDER, correlation_id=new_event_id())) as uow:
            now = uow.clock.now()
            week = iso_week(berlin_today(now))
            due = [a.id for a in await uow.digests.undecided(week) if _due(a, now) == week]
        decided = {}
        for agent_id in due:
            try:
                outcome = await self._decide(agent_id, week)
            except Exception:
                # One agent's failure must not hold up everyone else's digest; the next check
                # tries again.
                log.exception("weekly digest %s for %s failed", week, agent_id)
                continue
            if outcome is not None:
                decided[agent_id] = outcome
                if self._metrics is not None:
                    self._metrics.digests.labels(outcome).inc()
        return decided

    async def _decide(self, agent_id: str, week: str) -> str | None:
        """Send or skip the agent's digest for ``week``; None if it was not ours to decide."""
        event_id = digest_event_id(agent_id, week)
        async with self._units(Cause(SENDER, correlation_id=event_id)) as uow:
            now = uow.clock.now()
            agent = await uow.agents.get(agent_id)
            # Retired or rescheduled since the list was read: a later check decides.
            if agent is None or agent.retired or _due(agent, now) != week:
                return None
            digest = await _digest_of(uow, agent, week, now)
            if not digest.has_news:
                claimed = await uow.digests.claim(
                    agent.id, week, outcome=SKIPPED, notification_id=None, now=now
                )
                return SKIPPED if claimed else None
            notification = self._notification(agent, digest, event_id, now)
            claimed = await uow.digests.claim(
                agent.id, week, outcome=SENT, notification_id=notification.id, now=now
            )
            if not claimed or not await uow.notifications.add(notification):
                return None  # another instance decided this week first
            routes = routes_for(agent.id, agent, None)
            await deliver(uow, notification, routes, agent.quiet_hours, week=week)
        return SENT

    def _notification(
        self, agent: Agent, digest: Digest, event_id: str, now: datetime
    ) -> Notification:
        title, body = self._renderer.render_kind(
            WEEKLY_DIGEST,
            digest.facts(),
            agent.language,
            recipient_name=agent.name,
            salutation=agent.salutation,
        )
        return Notification(
            id=str(uuid.uuid4()),
            event_id=event_id,
            recipient=agent.id,
            team_id=None,
            kind=WEEKLY_DIGEST,
            title=title,
            body=body,
            language=agent.language,
            correlation_id=event_id,
            created_at=now,
        )


def _due(agent: Agent, now: datetime) -> str | None:
    return None if agent.digest is None else due_week(agent.digest, now)


async def _digest_of(uow: NotifyUnitOfWork, agent: Agent, week: str, now: datetime) -> Digest:
    facts = uow.digest_facts
    teams = await facts.teams_of(agent.id)
    team_ids = [t.team_id for t in teams]
    return build_digest(
        week=week,
        today=berlin_today(now),
        teams=teams,
        budgets=await facts.budgets(team_ids),
        milestones=await facts.milestones(team_ids),
        expenses=await facts.waiting(team_ids),
    )
