"""Database engines and transactions: SQLite by default, PostgreSQL by ``DATABASE_URL``."""

from __future__ import annotations

import contextlib
import os
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
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling begins lazily and would let a reader upgrade to a
        # writer mid-transaction (SQLITE_BUSY under load); we issue BEGIN ourselves instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front (IMMEDIATE) so that they queue on busy_timeout instead
        # of failing when they upgrade a read lock; readers begin deferred and, in WAL mode,
        # never wait for a writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One service's database: ``transaction()`` for changes, ``sessions()`` for reads.

    On SQLite the two use separate engines, so that a long consumer batch holding the write
    lock never blocks the API's or the relay's reads.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            prepare_sqlite_file(self.url)
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
        self.engine = create_async_engine(self.url, **kwargs)
        self.read_engine = self.engine
        if self.is_sqlite:
            _configure_sqlite(self.engine, immediate=True)
            self.read_engine = create_async_engine(self.url, **kwargs)
            _configure_sqlite(self.read_engine, immediate=False)
        self._writes = async_sessionmaker(self.engine, expire_on_commit=False)
        self.sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any exception."""
        async with self._writes() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
