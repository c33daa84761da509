"""Database engines and transactions: SQLite by default, PostgreSQL by ``DATABASE_URL``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.expression import Executable


def async_url(url: str) -> URL:
    """Map a plain URL (``sqlite:///x.db``, ``postgresql://...``) to its async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def sync_url(url: str) -> URL:
    """The synchronous twin of :func:`async_url`, for Alembic and command-line tools."""
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite")
    return parsed


def prepare_sqlite_file(url: str | URL) -> None:
    """Create a SQLite database file (and its directory) readable by its owner only.

    SQLite would create it with the umask's mode, usually world-readable; its -wal and -shm
    files take the database file's mode. An existing file is left as it is.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):  # a URI filename: SQLite's own rules apply
        return
    path = Path(database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    # WAL from the start, kept in the file: switching a database into WAL needs it to itself,
    # and a service's first connections (migrations, reader, writer) would otherwise race to
    # switch it, one failing with "database is locked". Every later switch is a no-op.
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


# Between writers of one process the asyncio write lock decides (see Database); SQLite's busy
# timeout only arbitrates between processes (a CLI tool, a second instance on the same file).
SQLITE_BUSY_TIMEOUT_MS = 10_000
# A writer waiting longer than this for the process's write lock fails with WriteLockTimeout:
# a transaction held that long is a fault, not load.
WRITE_LOCK_TIMEOUT_SECONDS = 60.0


class WriteLockTimeout(TimeoutError):
    """A write transaction waited too long for the process's SQLite write lock."""


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool, busy_timeout_ms: int) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling begins lazily and would let a reader upgrade to a
        # writer mid-transaction (SQLITE_BUSY under load); we issue BEGIN ourselves instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first, so that it covers the connection's own setup too.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take SQLite's lock up front (IMMEDIATE): a writer of another process then
        # waits on busy_timeout instead of failing when it upgrades a read lock. Readers begin
        # deferred and, in WAL mode, never wait for a writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One service's database: ``transaction()`` for changes, ``sessions()`` for reads.

    On SQLite the two use separate engines, so that a long consumer batch holding the write
    lock never blocks the API's or the relay's reads. SQLite has one writer at a time, and its
    busy timeout is a poor arbiter (it polls, unfairly: under load a writer starves until it
    fails with "database is locked"). So the writers of this instance (the consumer, the relay,
    the API, background jobs) queue, first come first served, on one asyncio lock held for the
    whole of each write transaction; SQLite's lock is then free whenever one of them begins,
    unless another process holds it. PostgreSQL writers run concurrently as before.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        write_lock_timeout: float = WRITE_LOCK_TIMEOUT_SECONDS,
    ) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            prepare_sqlite_file(self.url)
        else:
            # No ping at every checkout: it was a round trip per transaction, a tenth of what a
            # consumer batch of one event costs. After a server restart the first statement on
            # a stale connection fails instead, as a failure the consumers retry, and that
            # failure invalidates the whole pool (tests/contract/test_database_restart.py).
            kwargs.update(pool_size=10, max_overflow=10)
        self.engine = create_async_engine(self.url, **kwargs)
        self.read_engine = self.engine
        if self.is_sqlite:
            _configure_sqlite(self.engine, immediate=True, busy_timeout_ms=busy_timeout_ms)
            self.read_engine = create_async_engine(self.url, **kwargs)
            _configure_sqlite(self.read_engine, immediate=False, busy_timeout_ms=busy_timeout_ms)
        self._writes = async_sessionmaker(self.engine, expire_on_commit=False)
        self.sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._write_lock_timeout = write_lock_timeout
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any exception."""
        async with self.writing(), self._writes() as session, session.begin():
            yield session

    async def execute_alone(self, statement: Executable) -> None:
        """Run one writing statement as its own transaction.

        On PostgreSQL in autocommit: one round trip where ``transaction()`` takes three (BEGIN,
        the statement, COMMIT), which the outbox relay would pay after every publication.
        """
        if self.is_sqlite:
            async with self.transaction() as session:
                await session.execute(statement)
            return
        async with self.engine.connect() as connection:
            alone = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await alone.execute(statement)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Hold this instance's write lock (SQLite only): wrap any write not in ``transaction()``.

        Raises :class:`WriteLockTimeout` after waiting ``write_lock_timeout`` seconds, and
        RuntimeError for a nested write in the task that holds the lock (it would wait forever).
        """
        if not self.is_sqlite:
            yield
            return
        task = asyncio.current_task()
        if task is not None and task is self._writer:
            raise RuntimeError(
                "a write transaction was opened inside another one of the same task: "
                "SQLite has one writer, so it would wait for itself"
            )
        lock = self._write_lock()
        try:
            async with asyncio.timeout(self._write_lock_timeout):
                await lock.acquire()
        except TimeoutError:
            holder = self._writer.get_name() if self._writer is not None else "unknown"
            raise WriteLockTimeout(
                f"waited {self._write_lock_timeout:g} s for the database write lock "
                f"(held by task {holder})"
            ) from None
        self._writer = task
        try:
            yield
        finally:
            self._writer = None
            lock.release()

    def _write_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to one event loop; a Database reused under a new loop (a
        # command run twice with asyncio.run) gets a new one.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
