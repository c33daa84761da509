"""The docker-compose deployment: valid, complete, secret-free, and started in the right order.

There is no Docker engine here: Debian's docker-compose validates and resolves the file, and
the PostgreSQL init script runs against a real server.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from cimis_devtools.postgres_local import LocalPostgres, find_postgres_bindir
from tests.ops.support import DEPLOY, REPO_ROOT, tool

COMPOSE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SERVICES = ("intake", "budget", "milestones", "notify", "outcomes")
# The variables in .env.example: set ones, and commented-out ones that document an option.
_ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def _compose(*args: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    # A bare environment: a developer's exported passwords must not make the test pass.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return subprocess.run(
        [
            tool("docker-compose", "docker-compose"),
            "-f",
            str(COMPOSE),
            "--project-directory",
            str(REPO_ROOT),
            "--env-file",
            str(env_file),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _volume_source(mount: str | dict[str, Any]) -> str:
    # docker-compose 1.x prints "source:target:mode"; Compose v2 prints a mapping.
    return str(mount["source"]) if isinstance(mount, dict) else mount.split(":")[0]


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The file as docker-compose resolves it with .env.example."""
    result = _compose("config", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_docker_compose_accepts_the_file_with_the_example_environment() -> None:
    result = _compose("config", "-q", env_file=ENV_EXAMPLE)

    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr


def test_docker_compose_refuses_to_run_without_the_passwords(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")

    result = _compose("config", "-q", env_file=empty)

    assert result.returncode != 0
    assert "in .env" in result.stderr, result.stderr


def test_every_variable_the_compose_file_reads_is_in_env_example_and_back() -> None:
    text = COMPOSE.read_text()
    substituted = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    raw = yaml.safe_load(text)
    passed_through = {
        key
        for service in raw["services"].values()
        if isinstance(service.get("environment"), dict)
        for key, value in service["environment"].items()
        if value is None
    }
    documented = set(_ENV_LINE.findall(ENV_EXAMPLE.read_text()))

    assert (substituted | passed_through) - documented == set(), "not in .env.example"
    assert documented - (substituted | passed_through) == set(), "documented but unused"


def test_the_compose_file_holds_no_secret() -> None:
    raw = yaml.safe_load(COMPOSE.read_text())
    for name, service in raw["services"].items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key) or key == "DATABASE_URL":
                assert value is None or "${" in str(value), f"{name}: {key} is written out"
    assert ".env" in (REPO_ROOT / ".gitignore").read_text().split()


def test_the_smtp_login_reaches_notify_only_when_set(resolved: dict[str, Any]) -> None:
    environment = resolved["services"]["notify"]["environment"]

    # null: docker passes nothing, so notify does not try to log in to Mailpit.
    assert environment["SMTP_USERNAME"] is None
    assert environment["SMTP_PASSWORD"] is None
    assert environment["SMTP_HOST"] == "mailpit"


def test_the_four_services_run_from_one_image_with_their_own_database(
    resolved: dict[str, Any],
) -> None:
    services = resolved["services"]
    images = {services[name]["image"] for name in (*SERVICES, "topics")}
    builds = {services[name]["build"]["dockerfile"] for name in (*SERVICES, "topics")}

    assert images == {"cimis:local"}
    assert builds == {"deploy/docker/Dockerfile"}
    for name in SERVICES:
        environment = services[name]["environment"]
        assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert environment["CIMIS_API_KEYS_FILE"] == "/etc/cimis/api-keys.json"
        assert environment["HTTP_HOST"] == "0.0.0.0"
        assert environment["DATABASE_URL"].startswith(f"postgresql://{name}:")
        assert environment["DATABASE_URL"].endswith(f"@postgres:5432/{name}")
        assert services[name]["command"] == ["python", "-m", f"services.{name}.entrypoints.main"]


def test_services_start_after_healthy_kafka_postgres_and_created_topics(
    resolved: dict[str, Any],
) -> None:
    services = resolved["services"]
    for name in SERVICES:
        service = services[name]
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy", name
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert service["depends_on"]["topics"]["condition"] == ("service_completed_successfully"), (
            name
        )
        assert service["restart"] == "unless-stopped", name
        assert "/health/ready" in " ".join(service["healthcheck"]["test"]), name
    assert services["topics"]["command"] == ["sh", "-c", "cimis kafka access && cimis topics"]
    assert services["topics"]["restart"] == "no"


def test_kafka_has_a_login_module_for_every_mechanism_a_listener_enables(
    resolved: dict[str, Any],
) -> None:
    # Without one the broker exits at start: "Could not find a 'KafkaServer' ... entry in the
    # JAAS configuration" (found by `make compose-check`, which starts the file for real).
    environment = resolved["services"]["kafka"]["environment"]
    enabled = {
        key.removeprefix("KAFKA_LISTENER_NAME_").removesuffix("_SASL_ENABLED_MECHANISMS"): value
        for key, value in environment.items()
        if key.endswith("_SASL_ENABLED_MECHANISMS")
    }

    assert set(enabled) == {"CLIENT", "CONTROLLER"}
    for listener, mechanisms in enabled.items():
        for mechanism in mechanisms.split(","):
            # The image maps `___` to `-`: KAFKA_..._SCRAM___SHA___512_... is scram-sha-512.
            variable = f"KAFKA_LISTENER_NAME_{listener}_{mechanism.replace('-', '___')}"
            assert f"{variable}_SASL_JAAS_CONFIG" in environment, (listener, mechanism)


def test_infrastructure_is_pinned_persistent_and_health_checked(resolved: dict[str, Any]) -> None:
    services = resolved["services"]

    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"] == "postgres:16"
    for name in ("kafka", "postgres", "prometheus", "grafana", "mailpit", *SERVICES):
        assert "healthcheck" in services[name], name
        assert not services[name]["image"].endswith(":latest"), name
    for name, volume in {
        "kafka": "kafka-data",
        "postgres": "postgres-data",
        "prometheus": "prometheus-data",
        "grafana": "grafana-data",
    }.items():
        assert volume in map(_volume_source, services[name]["volumes"]), name
    assert set(resolved["volumes"]) >= {"kafka-data", "postgres-data", "cimis-keys"}


def test_published_ports_listen_on_loopback_by_default(resolved: dict[str, Any]) -> None:
    for name, service in resolved["services"].items():
        for port in service.get("ports", []):
            # docker-compose 1.x prints "ip:host:container/tcp"; Compose v2 prints a mapping.
            host_ip = port["host_ip"] if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", f"{name}: {port}"


def test_the_image_is_slim_unprivileged_and_pinned_by_the_constraints() -> None:
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()

    assert "\nFROM python:3.11-slim\n" in dockerfile
    assert "pip install -c constraints.txt ." in dockerfile
    # Not run from a directory holding the source: it would shadow the installed package.
    assert re.findall(r"^WORKDIR (\S+)$", dockerfile, re.MULTILINE)[-1] == "/var/lib/cimis"
    [user] = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert user not in {"root", "0"}
    assert {".git", ".venv", "var", ".env"} <= set(ignored)


def test_the_image_gets_every_file_the_services_read_at_run_time() -> None:
    # The image runs what `pip install .` put into site-packages, not the source tree.
    patterns = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["*"]
    data_files = [
        path
        for root in (REPO_ROOT / "libs", REPO_ROOT / "services")
        for path in root.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"}
    ]

    assert data_files
    for path in data_files:
        assert any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns), (
            f"{path.relative_to(REPO_ROOT)} is not package data: add its pattern to pyproject.toml"
        )


@pytest.mark.postgres
def test_the_postgres_init_script_gives_each_service_a_database_only_it_may_open(
    local_postgres: LocalPostgres,
) -> None:
    environment = {
        **{key: os.environ[key] for key in ("PATH", "LANG") if key in os.environ},
        "PATH": f"{find_postgres_bindir()}:{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(local_postgres.port),
        "POSTGRES_USER": local_postgres.user,
        "POSTGRES_DB": "postgres",
        **{f"{name.upper()}_DB_PASSWORD": f"secret-{name}" for name in SERVICES},
    }
    try:
        result = subprocess.run(
            ["bash", str(DEPLOY / "postgres" / "init-databases.sh")],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr

        for name in SERVICES:
            own = local_postgres.conninfo(name).replace("user=postgres", f"user={name}")
            with psycopg.connect(own) as conn:
                owner = conn.execute(
                    "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                assert owner == (name,)
        other = local_postgres.conninfo("budget").replace("user=postgres", "user=intake")
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(other).close()
    finally:
        with psycopg.connect(local_postgres.conninfo(), autocommit=True) as admin:
            for name in SERVICES:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f'DROP ROLE IF EXISTS "{name}"')
