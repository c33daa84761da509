"""Idempotency-Key handling: the same key and body replay the stored answer, another body is 409."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Table, and_, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.memory import MemoryRepository
from cimis_chassis.problems import Problem

if TYPE_CHECKING:
    from cimis_chassis.unit_of_work import UnitOfWork

Work = Callable[["UnitOfWork"], Awaitable[tuple[int, dict[str, Any]]]]

MAX_IDEMPOTENCY_KEY_CHARS = 200


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    body: dict[str, Any]


class IdempotencyStore(Protocol):
    """The answers given under each (principal, Idempotency-Key)."""

    async def find(self, principal: str, key: str) -> StoredAnswer | None: ...

    async def remember(
        self, principal: str, key: str, answer: StoredAnswer, *, at: datetime
    ) -> None: ...


class SqlIdempotencyStore:
    def __init__(self, session: AsyncSession, table: Table) -> None:
        self._session = session
        self._table = table

    async def find(self, principal: str, key: str) -> StoredAnswer | None:
        table = self._table
        stored = (
            await self._session.execute(
                select(table.c.request_hash, table.c.status_code, table.c.response_body).where(
                    and_(table.c.principal == principal, table.c.key == key)
                )
            )
        ).first()
        if stored is None:
            return None
        return StoredAnswer(
            stored.request_hash, stored.status_code, json.loads(stored.response_body)
        )

    async def remember(
        self, principal: str, key: str, answer: StoredAnswer, *, at: datetime
    ) -> None:
        await self._session.execute(
            insert(self._table).values(
                principal=principal,
                key=key,
                request_hash=answer.request_hash,
                status_code=answer.status_code,
                response_body=json.dumps(answer.body),
                created_at=at,
            )
        )


class MemoryIdempotencyStore(MemoryRepository):
    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], StoredAnswer] = {}

    async def find(self, principal: str, key: str) -> StoredAnswer | None:
        return self.answers.get((principal, key))

    async def remember(
        self, principal: str, key: str, answer: StoredAnswer, *, at: datetime
    ) -> None:
        if (principal, key) in self.answers:
            raise KeyReused(principal, key)
        self.answers[(principal, key)] = answer


class KeyReused(Exception):
    """Two units stored an answer under the same key: the later one must not commit."""


def request_fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


async def run_idempotent(
    unit: Callable[[], UnitOfWork],
    *,
    principal: str,
    key: str | None,
    fingerprint: str,
    work: Work,
) -> tuple[int, dict[str, Any]]:
    """Run ``work`` in one unit of work, storing its answer under ``key`` in the same unit.

    A request that fails (any exception) stores nothing, so it may be retried with the same key.
    """
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise Problem(
            400,
            "invalid-idempotency-key",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters",
        )
    try:
        async with unit() as uow:
            if key is not None:
                stored = await uow.idempotency.find(principal, key)
                if stored is not None:
                    if stored.request_hash != fingerprint:
                        raise Problem(
                            409,
                            "idempotency-key-reused",
                            "This Idempotency-Key was used with a different request body.",
                        )
                    return stored.status_code, stored.body
            status, body = await work(uow)
            if key is not None:
                await uow.idempotency.remember(
                    principal, key, StoredAnswer(fingerprint, status, body), at=uow.clock.now()
                )
            return status, body
    except (IntegrityError, KeyReused) as exc:
        in_use = isinstance(exc, KeyReused) or "idempotency_keys" in str(exc.orig)
        if key is not None and in_use:
            raise Problem(
                409,
                "idempotency-key-in-use",
                "A request with this Idempotency-Key is being processed; retry shortly.",
            ) from exc
        raise
