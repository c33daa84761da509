"""The platform's topics keep their records unless the operator sets a retention, and are
created with the replication factor the operator sets, whoever creates them first."""

from __future__ import annotations

import pytest

from cimis_chassis.kafka import (
    REPLICATION_ENV,
    RETENTION_ENV,
    platform_replication_factor,
    platform_topic_configs,
)


def test_unlimited_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RETENTION_ENV, raising=False)
    assert platform_topic_configs() == {"retention.ms": "-1"}


def test_the_operator_may_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETENTION_ENV, str(90 * 24 * 3600 * 1000))
    assert platform_topic_configs() == {"retention.ms": "7776000000"}


def test_the_defaults_do_not_depend_on_the_process_environment() -> None:
    assert platform_topic_configs({}) == {"retention.ms": "-1"}
    assert platform_replication_factor({}) == 1


def test_one_replica_unless_the_operator_sets_more(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REPLICATION_ENV, raising=False)
    assert platform_replication_factor() == 1

    monkeypatch.setenv(REPLICATION_ENV, "3")
    assert platform_replication_factor() == 3


@pytest.mark.parametrize("text", ["0", "-1", "three", "2.5"])
def test_a_replication_factor_that_cannot_be_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=REPLICATION_ENV):
        platform_replication_factor({REPLICATION_ENV: text})
