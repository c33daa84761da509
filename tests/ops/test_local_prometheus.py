"""`make run` starts Prometheus with the deployment's rules on 127.0.0.1 and stops it again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cimis_cli.runner import _start_prometheus
from cimis_devtools.kafka_local import find_free_port
from tests.ops.support import alert_rules, tool


def test_make_run_starts_prometheus_with_the_alert_rules_on_the_port_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool("prometheus", "prometheus")
    port = find_free_port()
    monkeypatch.setenv("CIMIS_PROMETHEUS_PORT", str(port))

    prometheus = _start_prometheus(tmp_path, {"intake": find_free_port()})

    assert prometheus is not None
    try:
        assert f"http://127.0.0.1:{port}/alerts" in capsys.readouterr().out
        groups = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        loaded = {rule["name"] for group in groups for rule in group["rules"]}
        assert loaded == {rule["alert"] for rule in alert_rules()}
        assert (tmp_path / "prometheus" / "data").is_dir()
    finally:
        prometheus.stop()
    assert not prometheus.is_running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{prometheus.url}/-/ready", timeout=2)


def test_make_run_goes_on_without_prometheus_when_its_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool("prometheus", "prometheus")
    monkeypatch.setenv("CIMIS_PROMETHEUS_PORT", str(find_free_port()))
    first = _start_prometheus(tmp_path / "first", {})
    assert first is not None
    try:
        second = _start_prometheus(tmp_path / "second", {})

        assert second is None
        assert "Prometheus did not start" in capsys.readouterr().out
    finally:
        first.stop()
