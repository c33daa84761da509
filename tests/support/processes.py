"""Runs service modules as real subprocesses and reads Kafka topics (re-exported from devtools),
and starts one service the way the platform tests do."""

from __future__ import annotations

from pathlib import Path

from cimis_devtools.processes import (
    REPO_ROOT,
    Condition,
    Record,
    ServiceProcess,
    ServiceProcessError,
    TopicReader,
    publish,
    read_topic,
    read_topic_until,
)

__all__ = [
    "REPO_ROOT",
    "Condition",
    "Record",
    "ServiceProcess",
    "ServiceProcessError",
    "TopicReader",
    "local_service",
    "publish",
    "read_topic",
    "read_topic_until",
]


def local_service(
    name: str, tmp: Path, bootstrap: str, keys_file: Path, *, group: str, **extra: str
) -> ServiceProcess:
    """Service ``name`` as a process on its own SQLite file under ``tmp``, in consumer group
    ``group`` (its own: no other test's consumer takes partitions away from it); ``extra``
    adds to or overrides the environment."""
    return ServiceProcess(
        f"services.{name}.entrypoints.main",
        name=name,
        log_path=tmp / f"{name}.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "DATABASE_URL": f"sqlite:///{tmp / (name + '.db')}",
            "CIMIS_API_KEYS_FILE": str(keys_file),
            "VAR_DIR": str(tmp / f"var-{name}"),
            "LOG_JSON": "false",
            "OUTBOX_POLL_SECONDS": "0.1",
            "CONSUMER_GROUP": group,
            **extra,
        },
    )
