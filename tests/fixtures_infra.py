"""Session fixtures providing a Kafka broker and a PostgreSQL database to tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cimis_contracts.topics import all_topics
from cimis_devtools.kafka_access import ADMIN, KafkaAccess
from cimis_devtools.kafka_local import KafkaSetupError, KafkaStartError, LocalKafka
from cimis_devtools.postgres_local import (
    INSTALL_HINT,
    LocalPostgres,
    PostgresNotFoundError,
    PostgresStartError,
)

KAFKA_HINT = (
    "the local Kafka broker needs Java 17 and Maven (Debian packages `openjdk-17-jre-headless` "
    "and `maven`); or set KAFKA_BOOTSTRAP_SERVERS to a running broker"
)
# The first run downloads jars before this clock starts; this covers only the JVM start.
BROKER_START_TIMEOUT = 90.0

# Every broker of the session authenticates the same principals (SASL/SCRAM) under the
# platform's ACLs. The test process itself is the operators' admin; service processes pick
# their own client file from CIMIS_KAFKA_CLIENTS_DIR (see ServiceProcess).
KAFKA_CLIENTS_DIR = Path(tempfile.mkdtemp(prefix="cimis-test-kafka-clients-"))
KAFKA_ACCESS = KafkaAccess.load_or_create(KAFKA_CLIENTS_DIR, env={})
if not (os.environ.get("KAFKA_CLIENT_CONFIG") or os.environ.get("KAFKA_SASL_USERNAME")):
    os.environ["KAFKA_CLIENT_CONFIG"] = str(KAFKA_ACCESS.client_file(ADMIN))
    os.environ["CIMIS_KAFKA_CLIENTS_DIR"] = str(KAFKA_CLIENTS_DIR)


def _start_broker(data_dir: Path) -> LocalKafka:
    broker = LocalKafka(data_dir, access=KAFKA_ACCESS)
    try:
        broker.start(timeout=BROKER_START_TIMEOUT)
        # Services create only their own topics; the operators create the platform's.
        broker.create_topics(all_topics())
    except (KafkaSetupError, KafkaStartError) as exc:
        pytest.fail(
            f"Could not start a local Kafka broker: {exc}\nHint: {KAFKA_HINT}", pytrace=False
        )
    return broker


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers: $KAFKA_BOOTSTRAP_SERVERS, else a broker owned by this session."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    broker = _start_broker(tmp_path_factory.mktemp("kafka"))
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_broker_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """Yield a broker this session always owns, so tests may stop, kill or restart it.

    Separate from `kafka_bootstrap` so a restart never disturbs other tests. Tests that stop
    it must leave it running again (call `start()` / `restart()` in a finally block).
    """
    broker = _start_broker(tmp_path_factory.mktemp("kafka-owned"))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def local_postgres() -> Iterator[LocalPostgres]:
    """Yield a PostgreSQL server this session always owns (ignores $CIMIS_TEST_POSTGRES_URL)."""
    # Not tmp_path_factory: its base dir is 0700 root-owned, which the `postgres` user that
    # the server runs as (when tests run as root) cannot enter.
    data_dir = Path(tempfile.mkdtemp(prefix="cimis-test-pg-"))
    server = LocalPostgres(data_dir)
    try:
        server.start()
    except PostgresNotFoundError as exc:
        shutil.rmtree(data_dir, ignore_errors=True)
        pytest.fail(f"No PostgreSQL for tests: {exc}", pytrace=False)
    except PostgresStartError as exc:
        shutil.rmtree(data_dir, ignore_errors=True)
        pytest.fail(
            f"Could not start a local PostgreSQL: {exc}\nHint: {INSTALL_HINT}", pytrace=False
        )
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """SQLAlchemy URL: $CIMIS_TEST_POSTGRES_URL, else a database on a session-owned server."""
    external = os.environ.get("CIMIS_TEST_POSTGRES_URL")
    if external:
        return external
    server: LocalPostgres = request.getfixturevalue("local_postgres")
    return server.url
