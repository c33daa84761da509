"""The audit log: who changed what, when, from what to what, written with the change itself."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession


def snapshot(entity: Any) -> dict[str, Any]:
    """A JSON-ready copy of a dataclass entity for an audit entry's ``before`` or ``after``.

    Nested dataclasses, mappings and sequences are copied through; dates and times become
    ISO 8601 strings.
    """

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    return plain(dataclasses.asdict(entity))  # type: ignore[no-any-return]


async def record_audit(
    session: AsyncSession,
    audit_log: Table,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    correlation_id: str | None,
) -> None:
    """Append one audit entry; ``actor`` is ``api:<principal>`` or ``event:<id>``."""
    await session.execute(
        insert(audit_log).values(
            occurred_at=at,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            correlation_id=correlation_id,
        )
    )
