"""The base class of event payloads and the registry that maps CloudEvents types to them."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from cimis_chassis.envelope import CloudEvent, EnvelopeError


class EventData(BaseModel):
    """The ``data`` of one event type; ``TYPE`` is its versioned CloudEvents type."""

    # Producers must not invent fields, but consumers tolerate additive changes.
    model_config = ConfigDict(extra="ignore", frozen=True)

    TYPE: ClassVar[str]
    TOPIC: ClassVar[str]

    def subject(self) -> str:
        raise NotImplementedError


_REGISTRY: dict[str, type[EventData]] = {}

E = TypeVar("E", bound=type[EventData])


def contract(cls: E) -> E:
    """Register an event payload class under its ``TYPE``."""
    if cls.TYPE in _REGISTRY:
        raise RuntimeError(f"event type {cls.TYPE} registered twice")
    _REGISTRY[cls.TYPE] = cls
    return cls


def registered_types() -> dict[str, type[EventData]]:
    return dict(_REGISTRY)


class UnknownEventType(EnvelopeError):
    pass


def decode_data(event: CloudEvent) -> EventData:
    """Validate an envelope's ``data`` against the contract of its type."""
    model = _REGISTRY.get(event.type)
    if model is None:
        raise UnknownEventType(f"unknown event type {event.type!r}")
    try:
        return model.model_validate(event.data)
    except ValidationError as exc:
        raise EnvelopeError(f"invalid data for {event.type}: {exc}") from exc


def dump_data(payload: EventData) -> dict[str, Any]:
    return payload.model_dump(mode="json")
