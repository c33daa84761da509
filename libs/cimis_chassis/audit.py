"""The audit log: who changed what, when, from what to what, written with the change itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession


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
