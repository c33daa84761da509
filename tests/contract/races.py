"""Two instances of a service on one database, racing: the second starts its unit of work
while the first's is applied but not yet committed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from cimis_chassis.database import Database

Unit = TypeVar("Unit", bound=AbstractAsyncContextManager[Any])

# Long enough for the rival to reach its first read or lock while the held unit is open.
RIVAL_HEAD_START_SECONDS = 0.3


async def race_two_instances(
    db: Database,
    database_url: str,
    unit: Callable[[Database], Unit],
    held: Callable[[Any], Awaitable[None]],
    rival: Callable[[Any], Awaitable[None]],
    *,
    rival_retries_on: tuple[type[BaseException], ...] = (),
) -> None:
    """Apply ``held`` in a unit on ``db``; before that unit commits, apply ``rival`` in a unit
    on a second engine (another instance) and wait for both.

    The rival reads before the held unit commits (PostgreSQL) or waits for the write lock
    (SQLite); either way it must not miss what the held unit wrote. A rival unit that fails
    with one of ``rival_retries_on`` is run once more, as the consumer reads a failed batch
    again.
    """
    other = Database(database_url)

    async def rival_instance() -> None:
        try:
            async with unit(other) as uow:
                await rival(uow)
        except rival_retries_on:
            async with unit(other) as uow:
                await rival(uow)

    try:
        async with unit(db) as uow:
            await held(uow)
            await uow.flush()
            racing = asyncio.create_task(rival_instance())
            await asyncio.sleep(RIVAL_HEAD_START_SECONDS)
        await racing
    finally:
        await other.dispose()
