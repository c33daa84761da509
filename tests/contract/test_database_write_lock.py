"""SQLite writers of one process queue on one lock, readers do not; PostgreSQL is untouched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from cimis_chassis.database import Database, WriteLockTimeout
from cimis_chassis.leases import acquire_lease
from services.intake.adapters.tables import chassis
from tests.contract.databases import OnPostgres, OnSqlite
from tests.contract.test_chassis_persistence import START

TTL = timedelta(seconds=15)


async def insert_lease(db: Database, name: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            insert(chassis.leases).values(name=name, holder="node-1", expires_at=START)
        )


async def lease_names(db: Database) -> list[str]:
    leases = chassis.leases
    async with db.sessions() as session:
        return list(
            (await session.execute(select(leases.c.name).order_by(leases.c.name))).scalars()
        )


async def most_writers_at_once(db: Database, writers: int) -> int:
    """Run ``writers`` write transactions that each pause inside; how many overlapped at most."""
    inside = 0
    most = 0

    async def write(number: int) -> None:
        nonlocal inside, most
        async with db.transaction() as session:
            inside += 1
            most = max(most, inside)
            await session.execute(
                insert(chassis.leases).values(
                    name=f"job-{number}", holder="node-1", expires_at=START
                )
            )
            await asyncio.sleep(0.02)
            inside -= 1

    await asyncio.gather(*(write(n) for n in range(writers)))
    return most


class TestWriteLockOnSqlite(OnSqlite):
    async def test_write_transactions_of_one_process_never_overlap(self, db: Database) -> None:
        assert await most_writers_at_once(db, 6) == 1
        assert len(await lease_names(db)) == 6

    async def test_reads_go_on_while_a_write_transaction_is_open(self, db: Database) -> None:
        await insert_lease(db, "before")

        async with db.transaction() as session:
            await session.execute(
                insert(chassis.leases).values(name="during", holder="node-1", expires_at=START)
            )
            # WAL: the reader sees the last commit at once, without waiting for this one.
            assert await asyncio.wait_for(lease_names(db), timeout=2) == ["before"]

        assert await lease_names(db) == ["before", "during"]

    async def test_the_lease_code_waits_for_the_open_write_transaction(self, db: Database) -> None:
        async with db.transaction() as session:
            await session.execute(
                insert(chassis.leases).values(name="other", holder="node-1", expires_at=START)
            )
            acquiring = asyncio.create_task(
                acquire_lease(db, chassis.leases, name="relay", holder="node-2", now=START, ttl=TTL)
            )
            await asyncio.sleep(0.1)
            assert not acquiring.done()

        assert await acquiring is True
        assert await lease_names(db) == ["other", "relay"]

    async def test_a_write_transaction_inside_another_of_the_same_task_is_refused(
        self, db: Database
    ) -> None:
        async with db.transaction() as session:
            await session.execute(
                insert(chassis.leases).values(name="outer", holder="node-1", expires_at=START)
            )
            with pytest.raises(RuntimeError, match="inside another one"):
                async with db.transaction():
                    pass

        assert await lease_names(db) == ["outer"]
        await insert_lease(db, "after")  # the lock was released

    async def test_a_writer_waiting_too_long_for_the_lock_fails_and_leaves_it_usable(
        self, database_url: str
    ) -> None:
        db = Database(database_url, write_lock_timeout=0.1)
        try:
            holding = asyncio.Event()
            release = asyncio.Event()

            async def hold() -> None:
                async with db.transaction():
                    holding.set()
                    await release.wait()

            holder = asyncio.create_task(hold())
            await holding.wait()
            with pytest.raises(WriteLockTimeout):
                await insert_lease(db, "late")
            release.set()
            await holder

            await insert_lease(db, "on-time")
            assert await lease_names(db) == ["on-time"]
        finally:
            await db.dispose()


class TestNoWriteLockOnPostgres(OnPostgres):
    @pytest.fixture
    async def db(self, database_url: str) -> AsyncIterator[Database]:
        database = Database(database_url, write_lock_timeout=0.01)
        try:
            yield database
        finally:
            await database.dispose()

    async def test_write_transactions_run_side_by_side(self, db: Database) -> None:
        assert await most_writers_at_once(db, 3) == 3
