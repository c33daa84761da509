"""Prometheus configuration and alert rules: promtool accepts them and every alert is tested."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from cimis_devtools.prometheus_local import COMPOSE_CONFIG, local_config
from tests.ops.support import ALERTS, README, RULE_TESTS, alert_rules, promtool

SERVICE_PORTS = {"intake": 8001, "budget": 8002, "milestones": 8003, "notify": 8004}


def test_promtool_accepts_the_compose_configuration() -> None:
    checked = promtool("check", "config", str(COMPOSE_CONFIG))

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_accepts_the_configuration_make_run_renders(tmp_path: Path) -> None:
    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(yaml.safe_dump(local_config(SERVICE_PORTS, port=9090)))

    checked = promtool("check", "config", str(rendered))

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_local_configuration_keeps_jobs_labels_and_rules_and_moves_targets() -> None:
    deployed = yaml.safe_load(COMPOSE_CONFIG.read_text())

    local = local_config(SERVICE_PORTS | {"intake": 18001}, port=19090, scrape_interval="1s")

    assert [j["job_name"] for j in local["scrape_configs"]] == [
        j["job_name"] for j in deployed["scrape_configs"]
    ]
    [platform] = [j for j in local["scrape_configs"] if j["job_name"] == "cimis"]
    assert {s["labels"]["service"]: s["targets"] for s in platform["static_configs"]} == {
        "intake": ["127.0.0.1:18001"],
        "budget": ["127.0.0.1:8002"],
        "milestones": ["127.0.0.1:8003"],
        "notify": ["127.0.0.1:8004"],
    }
    assert local["rule_files"] == [str(ALERTS)]
    assert local["global"]["scrape_interval"] == local["global"]["scrape_timeout"] == "1s"


def test_the_local_configuration_leaves_out_services_this_checkout_lacks() -> None:
    local = local_config({"intake": 8001}, port=9090)

    [platform] = [j for j in local["scrape_configs"] if j["job_name"] == "cimis"]
    assert [s["labels"]["service"] for s in platform["static_configs"]] == ["intake"]


def test_promtool_accepts_the_alert_rules() -> None:
    checked = promtool("check", "rules", str(ALERTS))

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_rule_passes_its_promtool_unit_tests() -> None:
    assert RULE_TESTS, "deploy/prometheus/tests/*.yml is empty"

    checked = promtool("test", "rules", *map(str, RULE_TESTS))

    assert checked.returncode == 0, checked.stdout + checked.stderr


def _cases() -> list[dict[str, Any]]:
    cases = []
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            cases.extend(test.get("alert_rule_test", []))
    return cases


def test_every_alert_has_a_unit_test_where_it_fires_and_one_where_it_stays_quiet() -> None:
    alerts = {rule["alert"] for rule in alert_rules()}
    cases = _cases()

    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}

    assert alerts - fires == set(), "alerts no unit test expects to fire"
    assert alerts - quiet == set(), "alerts no unit test expects to stay quiet"
    assert (fires | quiet) - alerts == set(), "unit tests of alerts that do not exist"


def test_every_alert_has_a_severity_and_a_runbook_section_in_the_readme() -> None:
    headings = {
        line.lstrip("#").strip()
        for line in README.read_text().splitlines()
        if re.match(r"^#{2,5} ", line)
    }
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert {"summary", "description"} <= set(rule["annotations"]), name
        assert rule["annotations"]["runbook"] == f"README.md#{name.lower()}", name
        assert name in headings, f"README.md has no section '{name}' to act on the alert"
