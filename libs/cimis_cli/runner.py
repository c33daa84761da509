"""``cimis run``: Kafka and every service on one machine, stopped together on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cimis_chassis.auth import Role, create_key
from cimis_chassis.kafka import ensure_topics
from cimis_cli.platform import ServiceSpec, available_services
from cimis_contracts.topics import all_topics
from cimis_devtools.kafka_access import ADMIN, KafkaAccess
from cimis_devtools.kafka_local import LocalKafka
from cimis_devtools.prometheus_local import DEFAULT_PORT as PROMETHEUS_PORT
from cimis_devtools.prometheus_local import (
    LocalPrometheus,
    PrometheusStartError,
    find_prometheus,
)
from cimis_devtools.smtp_sink import DEFAULT_PORT as SMTP_SINK_PORT
from cimis_devtools.smtp_sink import SmtpSink

READY_TIMEOUT_SECONDS = 60


def _say(message: str) -> None:
    print(f"[cimis] {message}", flush=True)


def ensure_admin_key(keys_file: Path, var_dir: Path) -> None:
    """Create a first admin key when the keys file has none, and say where it is."""
    token_file = var_dir / "admin-api-key.txt"
    if keys_file.exists() and '"admin"' in keys_file.read_text():
        if token_file.exists():
            _say(f"admin API key: {token_file} (keys file {keys_file})")
        return
    token = create_key(keys_file, role=Role.ADMIN, principal="admin")
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    _say(f"created an admin API key; it is in {token_file} (only its hash in {keys_file})")


def _wait_ready(spec: ServiceSpec, proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    url = f"http://127.0.0.1:{port}/health/ready"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{spec.name} exited with {proc.returncode}; see its log")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{spec.name} was not ready after {READY_TIMEOUT_SECONDS}s")


def _start_prometheus(var_dir: Path, service_ports: dict[str, int]) -> LocalPrometheus | None:
    """Prometheus with the deployment's alert rules, scraping the local services, if installed."""
    if find_prometheus() is None:
        _say("no prometheus binary (Debian: apt-get install prometheus): running without it")
        return None
    port = int(os.environ.get("CIMIS_PROMETHEUS_PORT", PROMETHEUS_PORT))
    prometheus = LocalPrometheus(var_dir / "prometheus", service_ports, port=port)
    try:
        prometheus.start()
    except PrometheusStartError as exc:
        # Monitoring is a convenience here: the platform runs on without it.
        _say(f"Prometheus did not start (is port {port} taken? CIMIS_PROMETHEUS_PORT): {exc}")
        return None
    _say(
        f"prometheus {prometheus.url}/alerts  (rules deploy/prometheus/alerts.yml; "
        f"data and log in {prometheus.state_dir})"
    )
    return prometheus


def run_platform(var_dir: Path) -> int:
    # Everything under var/ (databases, logs, mail, keys, Kafka data) is the owner's only;
    # the services, Kafka and the SMTP sink inherit this umask.
    os.umask(0o077)
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys_file = Path(os.environ.get("CIMIS_API_KEYS_FILE", var_dir / "api-keys.json"))
    ensure_admin_key(keys_file, var_dir)

    kafka: LocalKafka | None = None
    # One principal per service and the operators' admin, passwords from .env or generated.
    access = KafkaAccess.load_or_create(var_dir / "kafka" / "clients")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap:
        _say(f"using the Kafka at {bootstrap}")
    else:
        port = int(os.environ.get("CIMIS_KAFKA_PORT", "9092"))
        ctrl = int(os.environ.get("CIMIS_KAFKA_CONTROLLER_PORT", "9093"))
        kafka = LocalKafka(var_dir / "kafka", port, ctrl, access=access)
        _say(f"starting Apache Kafka on 127.0.0.1:{port} (data in {kafka.data_dir})")
        kafka.start()
        bootstrap = kafka.bootstrap_servers
    access.write_files(bootstrap)
    _say(f"Kafka takes SASL/SCRAM only: client files per principal in {access.directory}")
    asyncio.run(ensure_topics(access.client(bootstrap, ADMIN), all_topics()))

    # notify mails through the local sink unless SMTP_HOST points at a real server.
    sink: SmtpSink | None = None
    smtp_env: dict[str, str] = {}
    if os.environ.get("SMTP_HOST"):
        _say(f"notify mails through {os.environ['SMTP_HOST']}:{os.environ.get('SMTP_PORT', '25')}")
    else:
        smtp_port = int(os.environ.get("CIMIS_SMTP_PORT", SMTP_SINK_PORT))
        sink = SmtpSink(var_dir / "mail", smtp_port, report=_say)
        try:
            sink.start()
        except Exception:
            if kafka is not None:
                kafka.stop()
            raise
        smtp_env = {
            "SMTP_HOST": sink.host,
            "SMTP_PORT": str(sink.port),
            "SMTP_SECURITY": "none",
            # Staff alerts (refused allocations) land in the sink too, unless told otherwise.
            "STAFF_MAILBOX_EMAIL": os.environ.get(
                "STAFF_MAILBOX_EMAIL", "programmbuero@cimis.localhost"
            ),
        }
        _say(f"SMTP sink on {sink.host}:{sink.port}: notify's mails go to {sink.directory}/*.eml")

    procs: list[tuple[ServiceSpec, subprocess.Popen[bytes], int]] = []
    prometheus: LocalPrometheus | None = None
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for spec in available_services():
            port = int(os.environ.get(f"CIMIS_{spec.name.upper()}_PORT", spec.port))
            env = os.environ | {
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "KAFKA_CLIENT_CONFIG": str(access.client_file(spec.name)),
                "CIMIS_API_KEYS_FILE": str(keys_file),
                "HTTP_PORT": str(port),
                "VAR_DIR": str(var_dir),
                "DATABASE_URL": os.environ.get(
                    f"CIMIS_{spec.name.upper()}_DATABASE_URL",
                    f"sqlite:///{var_dir / (spec.name + '.db')}",
                ),
            }
            if spec.name == "notify":
                env |= smtp_env
            log = open(var_dir / f"{spec.name}.log", "ab")  # noqa: SIM115 - lives as long as the child
            proc = subprocess.Popen(
                [sys.executable, "-m", spec.module], env=env, stdout=log, stderr=subprocess.STDOUT
            )
            procs.append((spec, proc, port))
        for spec, proc, port in procs:
            _wait_ready(spec, proc, port)
            _say(
                f"{spec.name:<10} http://127.0.0.1:{port}/docs  "
                f"(API /api/v1, /health/ready, /metrics; log {var_dir / (spec.name + '.log')})"
            )
        prometheus = _start_prometheus(var_dir, {spec.name: port for spec, _, port in procs})
        _say("running; press Ctrl-C to stop everything")
        while not stopping:
            for spec, proc, _port in procs:
                if proc.poll() is not None:
                    _say(f"{spec.name} exited with {proc.returncode}; stopping the platform")
                    stopping = True
            time.sleep(0.5)
        return 0
    finally:
        if prometheus is not None:
            _say("stopping Prometheus")
            prometheus.stop()
        _say("stopping services")
        for _spec, proc, _port in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _spec, proc, _port in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if sink is not None:
            sink.stop()
        if kafka is not None:
            _say("stopping Kafka")
            kafka.stop()
        _say("stopped")
