"""The unit of work: one transaction holding a change, its audit entries and its outgoing events.

``async with uow:`` begins the transaction; leaving the block without an exception writes what
the repositories, the audit log and the outbox hold and commits, any exception rolls it all
back. The API, the consumer and the scheduled jobs all change state this way. A service adds
its repositories by subclassing :class:`SqlUnitOfWork` (the database) and
:class:`InMemoryUnitOfWork` (the fakes its handler tests run on); both meet the same contract.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.audit import AuditEntry, record_audit
from cimis_chassis.clock import Clock
from cimis_chassis.database import Database
from cimis_chassis.envelope import CloudEvent, make_event
from cimis_chassis.idempotency_keys import (
    IdempotencyStore,
    MemoryIdempotencyStore,
    SqlIdempotencyStore,
)
from cimis_chassis.inbox import Inbox, MemoryInbox, SqlInbox
from cimis_chassis.memory import MemoryRepository
from cimis_chassis.outbox import OutboxRecord, outbox_row, write_outbox
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


@dataclass(frozen=True)
class Emitted:
    event: CloudEvent
    topic: str
    key: str


class UnitOfWorkPort(Protocol):
    """What handlers use of any unit of work; a service's protocol adds its repositories.

    Read-only properties, so that the SQL and the in-memory units both satisfy it.
    """

    @property
    def clock(self) -> Clock: ...

    @property
    def cause(self) -> Cause: ...

    def caused_by(self, cause: Cause) -> None: ...

    async def emit(self, payload: EventPayload, *, event_id: str | None = None) -> CloudEvent: ...

    async def audit(
        self,
        action: str,
        entity_type: str,
        entity_id: str,
        *,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None: ...


class Flushable(Protocol):
    async def flush(self) -> None: ...


class UnitOfWork:
    """What every unit offers its handlers, whatever stores it: events, audit, inbox, keys.

    One instance may be entered again after it committed or rolled back; each ``async with``
    is one transaction.
    """

    inbox: Inbox
    idempotency: IdempotencyStore

    def __init__(self, *, clock: Clock, source: str, cause: Cause) -> None:
        self.clock = clock
        self.source = source
        self.cause = cause
        self._events: list[Emitted] = []
        self._audit: list[AuditEntry] = []
        self._open = False

    async def __aenter__(self) -> Self:
        if self._open:
            raise RuntimeError("this unit of work is open already: one transaction at a time")
        self._events, self._audit = [], []
        await self._begin()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        if exc_type is None:
            await self._commit()
        else:
            await self._rollback(exc_type, exc, tb)

    def caused_by(self, cause: Cause) -> None:
        """Attribute what follows to ``cause``: a batch applies many events in one unit."""
        self.cause = cause

    @property
    def emitted(self) -> list[CloudEvent]:
        """The events emitted in this transaction so far, in order."""
        return [item.event for item in self._events]

    async def emit(self, payload: EventPayload, *, event_id: str | None = None) -> CloudEvent:
        """Queue ``payload``; it reaches the outbox, and so the broker, only if the unit commits."""
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
        self._events.append(Emitted(event, payload.TOPIC, key))
        return event

    async def audit(
        self,
        action: str,
        entity_type: str,
        entity_id: str,
        *,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        self._audit.append(
            AuditEntry(
                occurred_at=self.clock.now(),
                actor=self.cause.actor,
                action=action,
                entity_type=entity_type,
                entity_id=entity_id,
                before=before,
                after=after,
                correlation_id=self.cause.correlation_id,
            )
        )

    async def flush(self) -> None:
        """Write what is pending without committing (the commit does it anyway)."""
        raise NotImplementedError

    async def _begin(self) -> None:
        raise NotImplementedError

    async def _commit(self) -> None:
        raise NotImplementedError

    async def _rollback(
        self,
        exc_type: type[BaseException],
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        raise NotImplementedError


class SqlUnitOfWork(UnitOfWork):
    """A unit on the service's database: one write transaction from ``async with`` to its end.

    Subclasses open their repositories on the session in :meth:`open_repositories` and list
    them, in the order their rows must be written (foreign keys), in :meth:`stores`.
    """

    session: AsyncSession

    def __init__(
        self,
        db: Database,
        tables: ChassisTables,
        *,
        clock: Clock,
        source: str,
        cause: Cause,
        on_commit: Callable[[SqlUnitOfWork, list[OutboxRecord]], None] | None = None,
    ) -> None:
        super().__init__(clock=clock, source=source, cause=cause)
        self.db = db
        self.tables = tables
        # Told of each commit and its outbox rows: the relay sends them without reading them
        # back, and whatever else waits for new rows (notify's delivery worker) wakes up.
        self._on_commit = on_commit
        self._written: list[OutboxRecord] = []
        self._transaction: AbstractAsyncContextManager[AsyncSession] | None = None

    def open_repositories(self, session: AsyncSession) -> None:
        """Create this service's repositories on ``session``; none in the chassis itself."""

    def stores(self) -> tuple[Flushable, ...]:
        """The repositories that hold writes until :meth:`flush`, in writing order."""
        return ()

    async def _begin(self) -> None:
        self._transaction = self.db.transaction()
        self.session = await self._transaction.__aenter__()
        self.inbox = SqlInbox(self.session, self.tables.inbox)
        self.idempotency = SqlIdempotencyStore(self.session, self.tables.idempotency_keys)
        self.open_repositories(self.session)

    async def flush(self) -> None:
        for store in self.stores():
            await store.flush()
        audit, self._audit = self._audit, []
        await record_audit(self.session, self.tables.audit_log, audit)
        events, self._events = self._events, []
        self._written += await write_outbox(
            self.session,
            self.tables.outbox,
            [outbox_row(item.event, topic=item.topic, key=item.key) for item in events],
        )

    async def _commit(self) -> None:
        assert self._transaction is not None
        transaction, self._transaction = self._transaction, None
        try:
            await self.flush()
        except BaseException as exc:
            self._written = []
            await transaction.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        written, self._written = self._written, []
        await transaction.__aexit__(None, None, None)
        if self._on_commit is not None:
            self._on_commit(self, written)

    async def _rollback(
        self,
        exc_type: type[BaseException],
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._transaction is not None
        transaction, self._transaction = self._transaction, None
        self._written = []
        await transaction.__aexit__(exc_type, exc, tb)


class InMemoryUnitOfWork(UnitOfWork):
    """A unit whose stores are dictionaries: committed events and audit entries stay readable.

    Subclasses create their fakes in ``__init__`` (after calling this one) and list them in
    :meth:`repositories`; a rollback puts every one back as it was at the beginning.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        source: str = "cimis/test",
        cause: Cause | None = None,
    ) -> None:
        super().__init__(
            clock=clock, source=source, cause=cause or Cause("test", "correlation-test")
        )
        self.inbox: MemoryInbox = MemoryInbox()
        self.idempotency: MemoryIdempotencyStore = MemoryIdempotencyStore()
        self.committed_events: list[CloudEvent] = []
        self.committed_topics: list[str] = []
        self.audit_log: list[AuditEntry] = []
        self.commits = 0
        self._snapshots: list[tuple[MemoryRepository, dict[str, Any]]] = []

    def repositories(self) -> tuple[MemoryRepository, ...]:
        return ()

    def _all(self) -> tuple[MemoryRepository, ...]:
        return (self.inbox, self.idempotency, *self.repositories())

    async def _begin(self) -> None:
        self._snapshots = [(repo, repo.snapshot()) for repo in self._all()]
        for repo in self._all():
            repo.begin()

    async def flush(self) -> None:
        """Nothing waits: the fakes change as the handlers call them."""

    async def _commit(self) -> None:
        self.committed_events.extend(item.event for item in self._events)
        self.committed_topics.extend(item.topic for item in self._events)
        self.audit_log.extend(self._audit)
        self._events, self._audit, self._snapshots = [], [], []
        self.commits += 1

    async def _rollback(
        self,
        exc_type: type[BaseException],
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for repo, state in self._snapshots:
            repo.restore(state)
        self._events, self._audit, self._snapshots = [], [], []

    def events_of_type(self, type_: str) -> list[CloudEvent]:
        return [event for event in self.committed_events if event.type == type_]
