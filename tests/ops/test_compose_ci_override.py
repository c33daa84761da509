"""The CI override of the compose file (`make compose-check`) swaps images and networking only.

What the check runs must be docker-compose.yml's deployment: the same cimis image, commands and
settings, with local stand-ins for the third-party images and every container on the host's
network, listening on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.support import DEPLOY, REPO_ROOT, tool

COMPOSE = REPO_ROOT / "docker-compose.yml"
OVERRIDE = DEPLOY / "compose-ci" / "docker-compose.ci.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SERVICES = ("intake", "budget", "milestones", "notify", "outcomes")
THIRD_PARTY = ("kafka", "postgres", "mailpit", "prometheus")


def _config(*files: Path) -> dict[str, Any]:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    arguments = [arg for path in files for arg in ("-f", str(path))]
    result = subprocess.run(
        [
            tool("docker-compose", "docker-compose"),
            *arguments,
            "--project-directory",
            str(REPO_ROOT),
            "--env-file",
            str(ENV_EXAMPLE),
            "config",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    services: dict[str, Any] = _config(COMPOSE)["services"]
    return services


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    services: dict[str, Any] = _config(COMPOSE, OVERRIDE)["services"]
    return services


def _without(service: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The service without ``keys``; its volumes in order (merging files may reorder them)."""
    kept = {key: value for key, value in service.items() if key not in keys}
    if "volumes" in kept:
        kept["volumes"] = sorted(map(str, kept["volumes"]))
    return kept


def _extra_hosts(service: dict[str, Any]) -> dict[str, str]:
    # docker-compose 1.x prints a mapping; the file (and Compose v2) may hold "name:address".
    entries = service["extra_hosts"]
    if isinstance(entries, dict):
        return {str(name): str(address) for name, address in entries.items()}
    return dict(str(entry).split(":", 1) for entry in entries)


def test_the_services_keep_their_image_commands_and_settings_but_listen_on_loopback(
    base: dict[str, Any], ci: dict[str, Any]
) -> None:
    for name in (*SERVICES, "topics"):
        assert _without(ci[name], "network_mode", "extra_hosts", "environment") == _without(
            base[name], "networks", "environment"
        ), name
        expected = dict(base[name]["environment"])
        if name != "topics":
            expected["HTTP_HOST"] = "127.0.0.1"
        assert ci[name]["environment"] == expected, name


def test_only_the_third_party_images_are_swapped_for_local_stand_ins(
    base: dict[str, Any], ci: dict[str, Any]
) -> None:
    for name in THIRD_PARTY:
        assert ci[name]["image"].startswith("localhost/cimis-ci/"), name
        assert _without(ci[name], "image", "network_mode", "extra_hosts", "environment") == (
            _without(base[name], "image", "networks", "environment")
        ), name
        expected = dict(base[name].get("environment") or {})
        if name == "kafka":
            expected["KAFKA_LISTENERS"] = "CLIENT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
        assert (ci[name].get("environment") or {}) == expected, name
    # Grafana is not in Debian: the check leaves it out through a profile it never names.
    assert ci["grafana"]["profiles"] == ["grafana-not-in-ci"]


def test_every_started_container_shares_the_host_network_and_finds_the_others_by_name(
    ci: dict[str, Any],
) -> None:
    for name in (*SERVICES, "topics", *THIRD_PARTY):
        assert ci[name]["network_mode"] == "host", name
        hosts = _extra_hosts(ci[name])
        assert set(hosts) >= {"kafka", "postgres", "mailpit", *SERVICES}, name
        assert set(hosts.values()) == {"127.0.0.1"}, name
