"""The platform's topics keep their records unless the operator sets a retention."""

from __future__ import annotations

import pytest

from cimis_chassis.kafka import RETENTION_ENV, platform_topic_configs


def test_unlimited_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RETENTION_ENV, raising=False)
    assert platform_topic_configs() == {"retention.ms": "-1"}


def test_the_operator_may_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETENTION_ENV, str(90 * 24 * 3600 * 1000))
    assert platform_topic_configs() == {"retention.ms": "7776000000"}
