"""Subscribes notify to the events that raise alerts: intake's, budget's and milestones'."""

from __future__ import annotations

from cimis_chassis.consumer import EventConsumer, Handler
from cimis_chassis.service_host import ServiceHost
from cimis_contracts import topics
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1, TeamReassignedV1
from services.notify.app.alerts import Alerts
from services.notify.app.digest_facts import with_digest_facts
from services.notify.domain.alerts import TEAM_ALERT_EVENTS

CONSUMED_TOPICS = topics.CONSUMES["notify"]


def alert_consumer(host: ServiceHost, alerts: Alerts) -> EventConsumer:
    """Team accepted maps the team to its agent; the other alert events wait for it if early.

    Every other event type on these topics (call opened, tranche released, ...) is skipped.
    A batch's teams, agents, parked events and earlier notifications are read up front.
    """
    handlers: dict[type[EventData], Handler] = {
        TeamAcceptedV1: alerts.on_team_accepted,
        TeamReassignedV1: alerts.on_team_reassigned,
    }
    handlers.update({contract: alerts.on_team_event for contract in TEAM_ALERT_EVENTS})
    # The weekly digest's read model records budget and milestone facts beside the alerts.
    handlers = with_digest_facts(handlers)
    return EventConsumer(host, topics=CONSUMED_TOPICS, handlers=handlers, prepare=alerts.prepare)
