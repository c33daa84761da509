"""PostgreSQL restarted under a service: the pool's dead connections cost one failure, no more.

Connections are not pinged at every checkout (a round trip per transaction, a tenth of what a
consumer batch of one event costs), so after a restart the first statement on a pooled
connection fails. That failure must be one the consumers retry, and it must clear the whole
pool, so that the retry (and everything after it) runs on fresh connections.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from cimis_chassis.consumer import is_infrastructure_failure
from cimis_chassis.database import Database
from cimis_devtools.postgres_local import LocalPostgres


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    # Its own server: restarting the session's shared one would disturb other tests' pools.
    data_dir = Path(tempfile.mkdtemp(prefix="cimis-test-pg-restart-"))
    server = LocalPostgres(data_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_a_restart_costs_at_most_one_retryable_failure_then_the_pool_is_fresh(
    own_postgres: LocalPostgres,
) -> None:
    db = Database(own_postgres.create_database("restart"))
    try:
        # Several pooled connections, all of them stale after the restart.
        sessions = [db.sessions() for _ in range(3)]
        for session in sessions:
            await session.execute(text("SELECT 1"))
        for session in sessions:
            await session.close()

        own_postgres.stop()
        own_postgres.start()

        first_failure: Exception | None = None
        try:
            async with db.transaction() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # the first use of a stale connection
            first_failure = exc
        assert first_failure is None or is_infrastructure_failure(first_failure), first_failure

        for _ in range(3):
            async with db.transaction() as session:
                assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
            await db.ping()
    finally:
        await db.dispose()
