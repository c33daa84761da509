"""Runs service modules as real subprocesses and reads Kafka topics: re-exported from devtools."""

from __future__ import annotations

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
    "publish",
    "read_topic",
    "read_topic_until",
]
