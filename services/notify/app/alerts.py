"""Consumed events to notifications: one per event and recipient, with a delivery per channel.

Runs inside the consumer's transaction (inbox, effects and outbox together) and only writes
rows; the delivery worker sends them later, so a slow SMTP server never holds up Kafka.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.unit_of_work import UnitOfWork
from cimis_contracts.base import EventData, decode_data
from cimis_contracts.intake import TeamAcceptedV1
from cimis_contracts.notify import NotificationDeliveredV1
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.repository import NotifyRepository
from services.notify.adapters.templates import TemplateRenderer
from services.notify.domain.agents import STAFF
from services.notify.domain.alerts import TeamContact, alert_for, team_of
from services.notify.domain.delivery import INBOX, routes_for
from services.notify.domain.formatting import DEFAULT_LANGUAGE, Language
from services.notify.domain.notifications import Notification, plan_deliveries

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

    async def on_team_accepted(
        self, uow: UnitOfWork, payload: TeamAcceptedV1, event: CloudEvent
    ) -> None:
        repo = NotifyRepository(uow.session)
        team = team_of(payload)
        await repo.save_team(team, accepted_at=payload.accepted_at)
        await self._notify(uow, repo, payload, event, team)
        # Events that overtook the acceptance (they come on other topics) are alerted now,
        # after the new-team alert, in the order they arrived.
        for parked in await repo.take_parked(team.team_id):
            await self._notify(uow, repo, decode_data(parked), parked, team)

    async def on_team_event(self, uow: UnitOfWork, payload: EventData, event: CloudEvent) -> None:
        team_id: str = payload.team_id  # type: ignore[attr-defined]
        repo = NotifyRepository(uow.session)
        team = await repo.get_team(team_id)
        if team is None:
            # Not an error and not poison: the team_accepted is on its way on another topic.
            await repo.park(team_id, event, now=uow.clock.now())
            log.info("parked %s for team %s until its team_accepted arrives", event.type, team_id)
            return
        await self._notify(uow, repo, payload, event, team)

    async def _notify(
        self,
        uow: UnitOfWork,
        repo: NotifyRepository,
        payload: EventData,
        event: CloudEvent,
        team: TeamContact,
    ) -> None:
        now = uow.clock.now()
        alert = alert_for(payload, team)
        agent = None if alert.recipient == STAFF else await repo.get_agent(alert.recipient)
        if alert.recipient == STAFF:
            language, name = self._staff.language, None
        else:
            language = agent.language if agent else DEFAULT_LANGUAGE
            name = agent.name if agent else None
        title, body = self._renderer.render(alert, language, recipient_name=name)
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
        if not await repo.add_notification(notification):
            return  # this event already notified this recipient
        routes = routes_for(alert.recipient, agent, self._staff.email)
        planned = plan_deliveries(notification, routes, agent.quiet_hours if agent else None, now)
        await repo.add_deliveries(planned)
        await uow.audit(
            "notification.created",
            "notification",
            notification.id,
            before=None,
            after={
                "event_id": event.id,
                "recipient": notification.recipient,
                "team_id": notification.team_id,
                "kind": notification.kind,
                "channels": [d.channel for d in planned],
            },
        )
        # The inbox entry exists once this transaction commits: that is its delivery.
        await uow.emit(
            NotificationDeliveredV1(
                notification_id=notification.id,
                recipient=notification.recipient,
                team_id=notification.team_id,
                kind=notification.kind,
                channel=INBOX,
                attempts=1,
                delivered_at=now,
            )
        )
        if self._metrics is not None:
            # Counted before the commit (the unit of work has no after-commit hook): a batch
            # that is rolled back and retried counts its inbox entries twice.
            self._metrics.deliveries.labels(INBOX, "delivered").inc()
