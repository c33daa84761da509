"""A unit of work: one transaction holding a change, its audit entries and its outgoing events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.audit import record_audit
from cimis_chassis.clock import Clock
from cimis_chassis.envelope import CloudEvent, make_event
from cimis_chassis.outbox import outbox_row, write_outbox
from cimis_chassis.tables import ChassisTables


class EventPayload(Protocol):
    TYPE: ClassVar[str]
    TOPIC: ClassVar[str]

    def subject(self) -> str: ...

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Cause:
    """Who or what caused a change: an API principal and request, or a consumed event."""

    actor: str
    correlation_id: str
    causation_id: str | None = None


@dataclass
class UnitOfWork:
    session: AsyncSession
    tables: ChassisTables
    clock: Clock
    source: str
    cause: Cause
    emitted: list[CloudEvent] = field(default_factory=list)
    _unwritten: list[dict[str, Any]] = field(default_factory=list)

    async def emit(self, payload: EventPayload, *, event_id: str | None = None) -> CloudEvent:
        """Queue ``payload`` for the outbox; it is published only if this transaction commits.

        Rows are written together by :meth:`flush`, which whoever opened the unit calls before
        committing: one INSERT per batch instead of one per event.
        """
        key = payload.subject()
        event = make_event(
            source=self.source,
            type_=payload.TYPE,
            subject=key,
            time=self.clock.now(),
            data=payload.model_dump(mode="json"),
            correlation_id=self.cause.correlation_id,
            causation_id=self.cause.causation_id,
            event_id=event_id,
        )
        self._unwritten.append(outbox_row(event, topic=payload.TOPIC, key=key))
        self.emitted.append(event)
        return event

    async def flush(self) -> None:
        """Write the queued outbox rows; must run inside the unit's transaction."""
        rows, self._unwritten = self._unwritten, []
        await write_outbox(self.session, self.tables.outbox, rows)

    async def audit(
        self,
        action: str,
        entity_type: str,
        entity_id: str,
        *,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        await record_audit(
            self.session,
            self.tables.audit_log,
            at=self.clock.now(),
            actor=self.cause.actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            correlation_id=self.cause.correlation_id,
        )
