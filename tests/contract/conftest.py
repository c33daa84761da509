"""Migrated databases per test: a SQLite file, or a new database on the PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.databases import migrated_postgres_database, migrated_sqlite_url


@pytest.fixture
def sqlite_database_url(tmp_path: Path, migrations: Path) -> str:
    return migrated_sqlite_url(tmp_path, migrations)


@pytest.fixture
def postgres_database_url(postgres_url: str, migrations: Path) -> Iterator[str]:
    with migrated_postgres_database(postgres_url, migrations) as url:
        yield url
