"""The CloudEvents 1.0 envelope (structured JSON mode) every Kafka record carries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from cimis_chassis.clock import ensure_utc


class EnvelopeError(ValueError):
    """A record that is not a valid CloudEvent: permanent, so it goes to the dead letters."""


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    # Bounded, so that a hostile envelope cannot carry megabytes into logs, labels or mails.
    specversion: str = Field(default="1.0", max_length=10)
    id: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    subject: str | None = Field(default=None, max_length=300)
    time: AwareDatetime
    datacontenttype: str = Field(default="application/json", max_length=100)
    correlationid: str | None = Field(default=None, max_length=100)
    causationid: str | None = Field(default=None, max_length=100)
    data: dict[str, Any]

    @field_validator("specversion")
    @classmethod
    def _only_v1(cls, value: str) -> str:
        if value != "1.0":
            raise ValueError(f"unsupported CloudEvents specversion {value!r}")
        return value

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return ensure_utc(value)

    def to_json_bytes(self) -> bytes:
        """Serialise as one compact JSON object with a ``Z``-suffixed UTC time."""
        body = self.model_dump(mode="json", exclude_none=True)
        body["time"] = self.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return orjson.dumps(body)


def new_event_id() -> str:
    return str(uuid.uuid4())


def make_event(
    *,
    source: str,
    type_: str,
    subject: str,
    time: datetime,
    data: dict[str, Any],
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    """Build an envelope; a new correlation id is started when none is inherited."""
    eid = event_id or new_event_id()
    return CloudEvent(
        id=eid,
        source=source,
        type=type_,
        subject=subject,
        time=ensure_utc(time),
        data=data,
        correlationid=correlation_id or eid,
        causationid=causation_id,
    )


def parse_event(raw: bytes | str) -> CloudEvent:
    """Decode one record value; anything malformed raises :class:`EnvelopeError`."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:  # not UTF-8, not JSON, or nested too deeply
        if "depth limit" in str(exc):
            raise EnvelopeError("record value is JSON nested too deeply to be an event") from exc
        raise EnvelopeError(f"record value is not JSON: {str(exc)[:200]}") from exc
    if not isinstance(body, dict):
        raise EnvelopeError("record value is not a JSON object")
    try:
        return CloudEvent.model_validate(body)
    except ValidationError as exc:
        raise EnvelopeError(f"not a valid CloudEvent: {str(exc)[:1000]}") from exc
