"""The answers kept under each (principal, Idempotency-Key), in the unit of work's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, and_, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.memory import MemoryRepository


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
