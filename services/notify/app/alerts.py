"""Consumed events to notifications: one per event and recipient, with a delivery per channel.

Runs inside the consumer's transaction (inbox, effects and outbox together) and only writes
rows; the delivery worker sends them later, so a slow SMTP server never holds up Kafka.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.text import comparison_key
from cimis_contracts.base import EventData, decode_data
from cimis_contracts.intake import TeamAcceptedV1, TeamReassignedV1
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.templates import TemplateRenderer
from services.notify.app.inbox import deliver
from services.notify.app.ports import NotifyUnitOfWork
from services.notify.domain.agents import STAFF
from services.notify.domain.alerts import Alert, TeamContact, alerts_for, raises_alerts, team_of
from services.notify.domain.delivery import INBOX, routes_for
from services.notify.domain.formatting import DEFAULT_LANGUAGE, Language
from services.notify.domain.notifications import Notification

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StaffMailbox:
    email: str | None
    language: Language


class Alerts:
    """The consumer's handlers; bound to the renderer and the staff mailbox settings."""

    def __init__(
        self, renderer: TemplateRenderer, staff: StaffMailbox, metrics: NotifyMetrics | None = None
    ) -> None:
        self._renderer = renderer
        self._staff = staff
        self._metrics = metrics

    async def prepare(
        self, uow: NotifyUnitOfWork, batch: Sequence[tuple[EventData, CloudEvent]]
    ) -> None:
        """Load what a batch's handlers read, a query per table, before they run in order."""
        team_ids = [_team_id(payload) for payload, _ in batch]
        accepted = [team_of(p) for p, _ in batch if isinstance(p, TeamAcceptedV1)]
        # The teams first: what the batch then reads of them and their parked events includes
        # whatever another instance committed for them (see ports.Teams.lock).
        await uow.teams.lock(team_ids)
        await uow.teams.load(team_ids)
        released = await uow.parked_events.load([team.team_id for team in accepted])
        recipients = {team.agent_id for team in accepted}
        recipients.update(
            comparison_key(p.agent_id) for p, _ in batch if isinstance(p, TeamReassignedV1)
        )
        for team_id in team_ids:
            known = await uow.teams.get(team_id)
            if known is not None:
                recipients.add(known.agent_id)
        await uow.agents.load(recipients - {STAFF})
        await uow.notifications.load_raised_by(
            [event.id for _, event in batch] + [event.id for event in released]
        )

    async def on_team_accepted(
        self, uow: NotifyUnitOfWork, payload: TeamAcceptedV1, event: CloudEvent
    ) -> None:
        team = team_of(payload)
        await uow.teams.lock([team.team_id])
        await uow.teams.save(team, accepted_at=payload.accepted_at)
        await self._notify(uow, payload, event, team)
        # Events that overtook the acceptance (they come on other topics) are alerted now,
        # after the new-team alert, in the order they arrived.
        for parked in await uow.parked_events.take(team.team_id):
            await self._notify(uow, decode_data(parked), parked, team)

    async def on_team_reassigned(
        self, uow: NotifyUnitOfWork, payload: TeamReassignedV1, event: CloudEvent
    ) -> None:
        # After its team_accepted on the same topic and key: notify knows the team by now.
        team = await uow.teams.get(payload.team_id)
        agent_id = comparison_key(payload.agent_id)
        if team is None or team.agent_id == agent_id:
            return
        reassigned = replace(team, agent_id=agent_id)
        await uow.teams.reassign(team.team_id, agent_id)
        await uow.audit(
            "team.reassigned",
            "team",
            team.team_id,
            before={"agent_id": team.agent_id},
            after={"agent_id": agent_id, "event": event.id},
        )
        # From here on every alert of the team goes to the new agent, starting with this one.
        await self._notify(uow, payload, event, reassigned)

    async def on_team_event(
        self, uow: NotifyUnitOfWork, payload: EventData, event: CloudEvent
    ) -> None:
        if not raises_alerts(payload):
            return
        team_id = _team_id(payload)
        await uow.teams.lock([team_id])
        team = await uow.teams.get(team_id)
        if team is None:
            # Not an error and not poison: the team_accepted is on its way on another topic.
            await uow.parked_events.park(team_id, event, now=uow.clock.now())
            log.info("parked %s for team %s until its team_accepted arrives", event.type, team_id)
            return
        await self._notify(uow, payload, event, team)

    async def _notify(
        self,
        uow: NotifyUnitOfWork,
        payload: EventData,
        event: CloudEvent,
        team: TeamContact,
    ) -> None:
        for alert in alerts_for(payload, team):
            await self._notify_one(uow, alert, event)

    async def _notify_one(self, uow: NotifyUnitOfWork, alert: Alert, event: CloudEvent) -> None:
        now = uow.clock.now()
        agent = None if alert.recipient == STAFF else await uow.agents.get(alert.recipient)
        if agent is not None and agent.retired:
            # Nobody reads a retired agent's alerts: the office takes them until the team has
            # a new agent.
            alert, agent = replace(alert, recipient=STAFF), None
        if alert.recipient == STAFF:
            language, name = self._staff.language, None
        else:
            language = agent.language if agent else DEFAULT_LANGUAGE
            name = agent.name if agent else None
        title, body = self._renderer.render(
            alert, language, recipient_name=name, salutation=agent.salutation if agent else None
        )
        notification = Notification(
            id=str(uuid.uuid4()),
            event_id=event.id,
            recipient=alert.recipient,
            team_id=alert.team_id,
            kind=alert.kind,
            title=title,
            body=body,
            language=language,
            correlation_id=event.correlationid or event.id,
            created_at=now,
        )
        if not await uow.notifications.add(notification):
            return  # this event already notified this recipient
        routes = routes_for(alert.recipient, agent, self._staff.email)
        await deliver(uow, notification, routes, agent.quiet_hours if agent else None)
        if self._metrics is not None:
            # Counted before the commit (the unit of work has no after-commit hook): a batch
            # that is rolled back and retried counts its inbox entries twice.
            self._metrics.deliveries.labels(INBOX, "delivered").inc()


def _team_id(payload: EventData) -> str:
    # Every event notify handles is about one team (TEAM_ALERT_EVENTS and team_accepted).
    team_id = getattr(payload, "team_id", None)
    assert isinstance(team_id, str), type(payload).__name__
    return team_id
