"""Shared helpers of the operations tests: repository paths, promtool, dashboards and rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
README = REPO_ROOT / "README.md"

# What Grafana puts in place of its built-in variables. Five minutes of rate window spans the
# whole scenario of a test run, so a rate shows the scenario's traffic however long it took.
GRAFANA_BUILTINS = {"__rate_interval": "5m", "__interval": "15s", "__range": "1h"}
_VARIABLE = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")


def tool(name: str, package: str) -> str:
    """The path of a command-line tool the operations tests need; fail with the install hint."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: apt-get install {package} (.ci/run does it)", pytrace=False
        )
    return path


def promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool", "prometheus"), *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


@dataclass(frozen=True)
class DashboardQuery:
    dashboard: str
    panel: str
    ref_id: str
    expr: str

    def substituted(self, values: Mapping[str, str]) -> str:
        """The query as Grafana sends it, with template and built-in variables filled in."""

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in GRAFANA_BUILTINS:
                return GRAFANA_BUILTINS[name]
            if name not in values:
                raise KeyError(f"{self.dashboard} / {self.panel}: no value for ${name}")
            return values[name]

        return _VARIABLE.sub(replace, self.expr)


def load_dashboard(path: Path) -> dict[str, Any]:
    board: dict[str, Any] = json.loads(path.read_text())
    return board


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel that shows data (rows hold panels but show none themselves)."""
    for panel in board["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def dashboard_queries() -> list[DashboardQuery]:
    queries = []
    for path in DASHBOARDS:
        board = load_dashboard(path)
        for panel in panels(board):
            for target in panel["targets"]:
                queries.append(
                    DashboardQuery(board["title"], panel["title"], target["refId"], target["expr"])
                )
    return queries


def template_variables(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in board.get("templating", {}).get("list", [])}
