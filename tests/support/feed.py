"""Feeds events to a service in-process, as its producer would publish and the broker deliver."""

from __future__ import annotations

from aiokafka import ConsumerRecord

from cimis_chassis.envelope import CloudEvent, make_event
from cimis_contracts.base import EventData, registered_types
from cimis_contracts.topics import OWNERS
from tests.support.service_app import RunningService


def record_of(event: CloudEvent, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    """The record of ``event`` on its type's topic."""
    value = event.to_json_bytes()
    key = (event.subject or "").encode()
    topic = registered_types()[event.type].TOPIC
    return ConsumerRecord(topic, 0, offset, 0, 0, key, value, None, len(key), len(value), [])


def published_event(svc: RunningService, payload: EventData) -> CloudEvent:
    """The event its producer would publish now (by the service's clock)."""
    return make_event(
        source=OWNERS[payload.TOPIC],
        type_=payload.TYPE,
        subject=payload.subject(),
        time=svc.clock.now(),
        data=payload.model_dump(mode="json"),
    )
