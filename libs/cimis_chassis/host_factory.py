"""Builds a service's host from what it publishes and consumes, the same way for every service."""

from __future__ import annotations

from collections.abc import Sequence

from cimis_chassis.clock import Clock
from cimis_chassis.database import Database
from cimis_chassis.kafka import make_broker
from cimis_chassis.metrics import ServiceMetrics
from cimis_chassis.service_host import ServiceHost
from cimis_chassis.settings import ServiceSettings
from cimis_chassis.tables import ChassisTables
from cimis_chassis.unit_of_work import SqlUnitOfWork
from cimis_contracts import topics
from cimis_contracts.asyncapi import document_publisher
from cimis_contracts.base import EventData


def build_service_host(
    settings: ServiceSettings,
    clock: Clock,
    tables: ChassisTables,
    *,
    publishes: Sequence[type[EventData]],
    consumes: Sequence[str] = (),
    unit_of_work: type[SqlUnitOfWork] = SqlUnitOfWork,
) -> ServiceHost:
    """A host whose broker documents ``publishes`` and whose topics exist before it starts.

    Consumed topics get their dead-letter topic too; the caller registers its consumer.
    """
    metrics = ServiceMetrics(settings.service_name)
    broker = make_broker(
        settings.kafka(),
        client_id=f"cimis-{settings.service_name}",
        registry=metrics.registry,
        service=settings.service_name,
    )
    wanted: dict[str, int] = {topic: topics.DEFAULT_PARTITIONS for topic in consumes}
    owned: set[str] = set()
    if publishes:
        topic = publishes[0].TOPIC
        assert all(topic == event.TOPIC for event in publishes), "one topic per service"
        document_publisher(broker, topic, list(publishes))
        wanted[topic] = topics.DEFAULT_PARTITIONS
        owned.add(topic)
    if consumes:
        wanted[topics.dead_letter_topic(settings.service_name)] = 1
        owned.add(topics.dead_letter_topic(settings.service_name))
    return ServiceHost(
        name=settings.service_name,
        settings=settings,
        clock=clock,
        db=Database(settings.database_url),
        tables=tables,
        broker=broker,
        metrics=metrics,
        topics=wanted,
        owned_topics=frozenset(owned),
        unit_of_work_class=unit_of_work,
    )
