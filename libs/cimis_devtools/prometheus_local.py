"""Run Prometheus from the machine's binary with the deployment's rules, for make run and tests."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

__all__ = [
    "COMPOSE_CONFIG",
    "DEFAULT_PORT",
    "LocalPrometheus",
    "PrometheusStartError",
    "find_prometheus",
    "local_config",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
# The compose deployment's configuration is the one source of jobs, labels and rule files.
COMPOSE_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
PLATFORM_JOB = "cimis"
DEFAULT_PORT = 9090
STOP_GRACE_SECONDS = 20.0


class PrometheusStartError(RuntimeError):
    """The Prometheus process did not become ready; the message quotes its log."""


def find_prometheus() -> str | None:
    """The ``prometheus`` binary on PATH (Debian's package installs it), or None."""
    return shutil.which("prometheus")


def local_config(
    service_ports: Mapping[str, int],
    *,
    port: int,
    host: str = "127.0.0.1",
    scrape_interval: str | None = None,
) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with every target moved to ``host``.

    Jobs, labels and rules stay as deployed, so dashboards and alerts read the same series;
    services missing from ``service_ports`` (not in this checkout) are left out.
    """
    config: dict[str, Any] = yaml.safe_load(COMPOSE_CONFIG.read_text())
    for job in config["scrape_configs"]:
        if job["job_name"] == PLATFORM_JOB:
            kept = []
            for static in job["static_configs"]:
                service = static["labels"]["service"]
                if service in service_ports:
                    kept.append({**static, "targets": [f"{host}:{service_ports[service]}"]})
            job["static_configs"] = kept
        elif job["job_name"] == "prometheus":
            job["static_configs"] = [{"targets": [f"{host}:{port}"]}]
    # Absolute paths: the rendered file lives under var/, the rules stay in the repository.
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config.get("rule_files", [])]
    if scrape_interval is not None:
        settings = config.setdefault("global", {})
        settings["scrape_interval"] = scrape_interval
        settings["evaluation_interval"] = scrape_interval
        # A scrape may not outlast its interval.
        settings["scrape_timeout"] = scrape_interval
    return config


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the server's own listener: connections in TIME_WAIT do not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class LocalPrometheus:
    """A Prometheus process on ``host:port`` scraping the services at ``service_ports``.

    Its configuration, data and log live under ``state_dir``; stopping keeps the data, so
    ``make run`` shows yesterday's graphs again.
    """

    def __init__(
        self,
        state_dir: Path,
        service_ports: Mapping[str, int],
        *,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        scrape_interval: str | None = None,
        binary: str | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.service_ports = dict(service_ports)
        self.port = port
        self.host = host
        self.scrape_interval = scrape_interval
        self.binary = binary or find_prometheus()
        self.config_path = state_dir / "prometheus.yml"
        self.storage_dir = state_dir / "data"
        self.log_path = state_dir / "prometheus.log"
        self._process: subprocess.Popen[bytes] | None = None
        atexit.register(self._kill_quietly)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def write_config(self) -> Path:
        config = local_config(
            self.service_ports,
            port=self.port,
            host=self.host,
            scrape_interval=self.scrape_interval,
        )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            "# Rendered from deploy/prometheus/prometheus.yml; rewritten at every start.\n"
            + yaml.safe_dump(config, sort_keys=False)
        )
        return self.config_path

    def start(self, timeout: float = 60.0) -> None:
        """Start Prometheus and block until it reports ready; raise with its log otherwise."""
        if self.is_running:
            return
        if self.binary is None:
            raise PrometheusStartError(
                "no prometheus binary on PATH (Debian: apt-get install prometheus)"
            )
        # Checked first: the readiness probe would otherwise be answered by whatever holds the
        # port while our process dies of "address already in use".
        if not _port_is_free(self.host, self.port):
            raise PrometheusStartError(f"{self.host}:{self.port} is already in use")
        self.write_config()
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        command = [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.storage_dir}",
            f"--web.listen-address={self.host}:{self.port}",
            "--storage.tsdb.retention.time=15d",
        ]
        with self.log_path.open("ab") as log_file:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log_file.write(f"\n=== cimis: starting prometheus at {stamp} ===\n".encode())
            log_file.flush()
            # Own session: Ctrl-C reaches our process, which then stops this one in order.
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_ready(timeout)
        except BaseException:
            self._kill_quietly()
            raise

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            process = self._process
            assert process is not None
            if process.poll() is not None:
                raise PrometheusStartError(
                    f"prometheus exited with {process.returncode} during start-up\n"
                    f"{self.log_tail()}"
                )
            try:
                response = httpx.get(f"{self.url}/-/ready", timeout=2.0)
            except httpx.HTTPError as exc:
                last = f"{exc.__class__.__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            if time.monotonic() >= deadline:
                raise PrometheusStartError(
                    f"prometheus on {self.url} not ready after {timeout:.0f}s ({last})\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.2)

    def stop(self, timeout: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM (Prometheus flushes its head block), SIGKILL if still alive after ``timeout``."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - 32 * 1024))
                text = handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        tail = "\n".join(text.rstrip().splitlines()[-lines:])
        return f"--- last {lines} lines of {self.log_path} ---\n{tail}"

    def _kill_quietly(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
