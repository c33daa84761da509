"""Describes a service's published events to FastStream so its AsyncAPI document lists them."""

from __future__ import annotations

from typing import Any, Literal, Union

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import AwareDatetime, BaseModel, create_model

from cimis_contracts.base import EventData


class _EnvelopeBase(BaseModel):
    specversion: Literal["1.0"]
    id: str
    source: str
    subject: str
    time: AwareDatetime
    datacontenttype: Literal["application/json"]
    correlationid: str
    causationid: str | None = None


def envelope_model(data_model: type[EventData]) -> type[BaseModel]:
    """The CloudEvents envelope of one event type, as a pydantic model for documentation."""
    name = data_model.__name__.removesuffix("V1").removesuffix("V2") + "Event"
    fields: dict[str, Any] = {
        "type": (Literal[data_model.TYPE], ...),
        "data": (data_model, ...),
    }
    return create_model(
        name,
        __base__=_EnvelopeBase,
        __doc__=f"CloudEvents envelope of {data_model.TYPE}",
        **fields,
    )


def document_publisher(broker: KafkaBroker, topic: str, events: list[type[EventData]]) -> Any:
    """Register a publisher used only for the AsyncAPI document (the outbox relay sends)."""
    schema: Any = Union[tuple(envelope_model(e) for e in events)]  # noqa: UP007
    return broker.publisher(
        topic,
        title=f"{topic}:Publish",
        description="Keyed by team id (call id for call-level events); CloudEvents 1.0 JSON.",
        schema=schema,
    )


def render_asyncapi(broker: KafkaBroker, service: str) -> str:
    """The service's AsyncAPI 3.0 document as YAML (kept in the repo, checked for drift)."""
    spec = AsyncAPI(broker, title=f"CIMIS {service} events", version="1.0.0")
    return spec.to_specification().to_yaml()
