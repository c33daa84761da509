"""Idempotency-Key handling: the same key and body replay the stored answer, another body is 409."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.clock import Clock
from cimis_chassis.database import Database
from cimis_chassis.problems import Problem
from cimis_chassis.tables import ChassisTables

Work = Callable[[AsyncSession], Awaitable[tuple[int, dict[str, Any]]]]

MAX_IDEMPOTENCY_KEY_CHARS = 200


def request_fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


async def run_idempotent(
    db: Database,
    tables: ChassisTables,
    clock: Clock,
    *,
    principal: str,
    key: str | None,
    fingerprint: str,
    work: Work,
) -> tuple[int, dict[str, Any]]:
    """Run ``work`` in one transaction, storing its answer under ``key`` in that transaction.

    A request that fails (any exception) stores nothing, so it may be retried with the same key.
    """
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise Problem(
            400,
            "invalid-idempotency-key",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters",
        )
    table = tables.idempotency_keys
    try:
        async with db.transaction() as session:
            if key is not None:
                stored = (
                    await session.execute(
                        select(
                            table.c.request_hash, table.c.status_code, table.c.response_body
                        ).where(and_(table.c.principal == principal, table.c.key == key))
                    )
                ).first()
                if stored is not None:
                    if stored.request_hash != fingerprint:
                        raise Problem(
                            409,
                            "idempotency-key-reused",
                            "This Idempotency-Key was used with a different request body.",
                        )
                    return stored.status_code, json.loads(stored.response_body)
            status, body = await work(session)
            if key is not None:
                await session.execute(
                    insert(table).values(
                        principal=principal,
                        key=key,
                        request_hash=fingerprint,
                        status_code=status,
                        response_body=json.dumps(body),
                        created_at=clock.now(),
                    )
                )
            return status, body
    except IntegrityError as exc:
        if key is not None and "idempotency_keys" in str(exc.orig):
            raise Problem(
                409,
                "idempotency-key-in-use",
                "A request with this Idempotency-Key is being processed; retry shortly.",
            ) from exc
        raise
