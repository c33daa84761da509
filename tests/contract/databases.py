"""Fresh, migrated service databases for the contract tests, one per test on each backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, pool, text
from sqlalchemy.engine import Connection, make_url

from cimis_chassis.database import Database, sync_url
from cimis_chassis.migrations import upgrade_to_head

SERVICES = Path(__file__).resolve().parents[2] / "services"


def migrations_of(service: str) -> Path:
    return SERVICES / service / "migrations"


def migrated_sqlite_url(directory: Path, migrations: Path) -> str:
    """A new SQLite file in ``directory`` brought to the newest schema by Alembic."""
    url = f"sqlite:///{directory / 'service.db'}"
    upgrade_to_head(migrations, url)
    return url


@contextmanager
def migrated_postgres_database(server_url: str, migrations: Path) -> Iterator[str]:
    """A new database on the server behind ``server_url``, migrated, and dropped afterwards."""
    name = f"contract_{uuid.uuid4().hex[:16]}"
    # CREATE and DROP DATABASE refuse to run inside a transaction block.
    admin = create_engine(
        sync_url(server_url), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
            upgrade_to_head(migrations, url)
            yield url
        finally:
            with admin.connect() as conn:
                # FORCE ends sessions a failed test may have left open.
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


class DatabaseContract:
    """Base of every contract class: a subclass names its backend by a ``database_url`` fixture.

    ``service`` names whose migrations build the schema; intake unless a contract says otherwise.
    """

    service = "intake"

    @pytest.fixture
    def migrations(self) -> Path:
        return migrations_of(self.service)

    @pytest.fixture
    def database_url(self) -> str:
        raise NotImplementedError("a backend subclass provides the migrated database's URL")

    @pytest.fixture
    async def db(self, database_url: str) -> AsyncIterator[Database]:
        database = Database(database_url)
        try:
            yield database
        finally:
            await database.dispose()


class OnSqlite(DatabaseContract):
    """Runs a contract on a SQLite file migrated by Alembic."""

    @pytest.fixture
    def database_url(self, sqlite_database_url: str) -> str:
        return sqlite_database_url


@pytest.mark.postgres
class OnPostgres(DatabaseContract):
    """Runs a contract on a new PostgreSQL database migrated by Alembic."""

    @pytest.fixture
    def database_url(self, postgres_database_url: str) -> str:
        return postgres_database_url


class ServiceSchemaContract(DatabaseContract):
    """A service's repository contract: its Alembic migrations build exactly its tables."""

    metadata: ClassVar[MetaData]

    async def test_the_migrated_schema_matches_the_declared_tables(self, db: Database) -> None:
        def drift(connection: Connection) -> list[object]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, self.metadata))

        async with db.engine.connect() as connection:
            assert await connection.run_sync(drift) == []
