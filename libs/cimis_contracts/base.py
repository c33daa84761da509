"""The base class of event payloads and the registry that maps CloudEvents types to them."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cimis_chassis.envelope import CloudEvent, EnvelopeError
from cimis_contracts.topics import OWNERS

# Every string and list in a contract is bounded: an oversized but well-formed event is poison
# with a clear reason, never a 900 KB team title in an e-mail. The admin APIs bound their
# input at or below these, so anything a service accepts can be published.
Identifier = Annotated[str, Field(min_length=1, max_length=300)]
Title = Annotated[str, Field(max_length=300)]
Reason = Annotated[str, Field(max_length=2000)]
Url = Annotated[str, Field(max_length=2000)]
MAX_LIST_ITEMS = 50


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
        raise EnvelopeError(f"invalid data for {event.type}: {str(exc)[:1000]}") from exc


def dump_data(payload: EventData) -> dict[str, Any]:
    return payload.model_dump(mode="json")


def provenance_problem(topic: str, event: CloudEvent) -> str | None:
    """Why ``event`` cannot have come from the owner of ``topic``, or None if it can.

    Defence in depth behind the broker's ACLs: a platform topic carries only its owner's event
    types, with its owner's ``source``. Topics outside the platform are not judged here.
    """
    owner = OWNERS.get(topic)
    if owner is None:
        return None
    model = _REGISTRY.get(event.type)
    if model is not None and topic != model.TOPIC:
        return f"{event.type} belongs on {model.TOPIC}, not on {topic}"
    if event.source != owner:
        return f"source {event.source[:100]!r} is not {owner!r}, the owner of {topic}"
    return None
