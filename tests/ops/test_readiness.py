"""/health/ready fails when the service's database is gone; /health/live still answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool, text

from cimis_chassis.auth import Role, create_key
from cimis_chassis.database import sync_url
from tests.contract.databases import migrated_postgres_database, migrations_of
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def intake_database(postgres_url: str) -> Iterator[str]:
    with migrated_postgres_database(postgres_url, migrations_of("intake")) as url:
        yield url


def _drop(database_url: str) -> None:
    """Drop the database under the running service, ending its connections (PostgreSQL 13+)."""
    url = sync_url(database_url)
    admin = create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


async def test_ready_answers_503_naming_the_database_once_it_is_dropped(
    tmp_path: Path, kafka_bootstrap: str, intake_database: str
) -> None:
    keys_file = tmp_path / "api-keys.json"
    create_key(keys_file, role=Role.OPERATOR, principal="olga")
    process = ServiceProcess(
        "services.intake.entrypoints.main",
        name="intake",
        log_path=tmp_path / "intake.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "DATABASE_URL": intake_database,
            "CIMIS_API_KEYS_FILE": str(keys_file),
            "VAR_DIR": str(tmp_path / "var"),
            "LOG_JSON": "false",
        },
    )
    async with process:
        ready = await process.wait_for_status("/health/ready", 200)
        assert ready.json()["checks"]["database"] == "ok"

        _drop(intake_database)

        failing = await process.wait_for_status("/health/ready", 503)
        checks = failing.json()["checks"]
        assert checks["database"].startswith("failing"), checks
        assert checks["broker"] == "ok", checks
        assert (await process.wait_for_status("/health/live", 200)).json() == {"status": "ok"}
        metrics = (await process.wait_for_status("/metrics", 200)).text
        assert 'cimis_readiness_check{check="database"} 0.0' in metrics
        assert 'cimis_readiness_check{check="broker"} 1.0' in metrics
