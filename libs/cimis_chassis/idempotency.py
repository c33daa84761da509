"""Idempotency-Key handling: the same key and body replay the stored answer, another body is 409."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from cimis_chassis.idempotency_keys import KeyReused, StoredAnswer
from cimis_chassis.problems import Problem
from cimis_chassis.unit_of_work import UnitOfWork

Work = Callable[[UnitOfWork], Awaitable[tuple[int, dict[str, Any]]]]

MAX_IDEMPOTENCY_KEY_CHARS = 200


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
