"""Run a single-node Apache Kafka broker from Maven Central jars for tests and local development."""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from aiokafka.admin import AIOKafkaAdminClient

from cimis_chassis.kafka import ensure_topics
from cimis_chassis.kafka_client import KafkaClientConfig
from cimis_devtools.kafka_access import ADMIN, KafkaAccess, apply_access

__all__ = [
    "KAFKA_VERSION",
    "DaemonStatus",
    "KafkaSetupError",
    "KafkaStartError",
    "LocalKafka",
    "daemon_status",
    "ensure_topics",
    "fetch_jars",
    "find_free_port",
    "kafka_cache_dir",
    "start_daemon",
    "stop_daemon",
]

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
RESOURCES_DIR = Path(__file__).resolve().parent / "kafka"
POM_PATH = RESOURCES_DIR / "pom.xml"
LOG4J_CONFIG_PATH = RESOURCES_DIR / "log4j2.properties"

DEFAULT_PORT = 9092
DEFAULT_CONTROLLER_PORT = 9093
DEFAULT_STATE_DIR = Path("var") / "kafka"
STOP_GRACE_SECONDS = 20.0
MVN_TIMEOUT_SECONDS = 900.0

# Jars whose absence means the download is unusable even though mvn exited 0.
_REQUIRED_JARS = (f"kafka_2.13-{KAFKA_VERSION}.jar", "log4j-slf4j-impl-")
_MARKER_NAME = ".complete"

_T = TypeVar("_T")


class KafkaSetupError(RuntimeError):
    """Java, Maven or the broker jars are missing or could not be fetched."""


class KafkaStartError(RuntimeError):
    """The broker process failed to become ready."""


def kafka_cache_dir() -> Path:
    """Directory holding `libs/` with the broker jars (env `CIMIS_KAFKA_CACHE` overrides)."""
    override = os.environ.get("CIMIS_KAFKA_CACHE")
    if override:
        return Path(override).expanduser().resolve()
    return Path.home() / ".cache" / "cimis" / f"kafka-{KAFKA_VERSION}"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _pom_fingerprint() -> str:
    # The marker records which pom produced libs/, so editing the pom triggers a refetch.
    return hashlib.sha256(POM_PATH.read_bytes()).hexdigest()


def _cache_is_complete(cache: Path) -> bool:
    marker = cache / _MARKER_NAME
    try:
        return marker.read_text().strip() == _pom_fingerprint()
    except FileNotFoundError:
        return False


def fetch_jars(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Download the broker's runtime jars once; return the `libs` directory holding them."""
    cache = Path(cache_dir).resolve() if cache_dir is not None else kafka_cache_dir()
    libs = cache / "libs"
    if _cache_is_complete(cache):
        return libs
    cache.mkdir(parents=True, exist_ok=True)
    with _file_lock(cache / ".lock"):
        # Another process may have finished the download while this one waited for the lock.
        if _cache_is_complete(cache):
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaSetupError(
                "Maven (`mvn`) is needed once to download the Kafka jars: install Debian's "
                "`maven` package, or point KAFKA_BOOTSTRAP_SERVERS at a running broker."
            )
        (cache / _MARKER_NAME).unlink(missing_ok=True)
        shutil.rmtree(libs, ignore_errors=True)
        pom = cache / "pom.xml"
        shutil.copyfile(POM_PATH, pom)
        command = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
        ]
        log.info("fetching Kafka %s jars into %s", KAFKA_VERSION, libs)
        try:
            result = subprocess.run(
                command,
                cwd=cache,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=MVN_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaSetupError(
                f"mvn did not finish within {MVN_TIMEOUT_SECONDS:.0f}s: {' '.join(command)}"
            ) from exc
        if result.returncode != 0:
            output = _tail_text(result.stdout + result.stderr, 40)
            raise KafkaSetupError(
                f"mvn exited with {result.returncode}: {' '.join(command)}\n{output}"
            )
        names = [p.name for p in libs.glob("*.jar")]
        missing = [req for req in _REQUIRED_JARS if not any(n.startswith(req) for n in names)]
        if missing:
            raise KafkaSetupError(f"mvn succeeded but {libs} lacks {', '.join(missing)}")
        (cache / _MARKER_NAME).write_text(_pom_fingerprint() + "\n")
    return libs


def _find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaSetupError(
            "Java 17+ is needed to run the local Kafka broker: install Debian's "
            "`openjdk-17-jre-headless` package, or point KAFKA_BOOTSTRAP_SERVERS at a broker."
        )
    return java


# Every port this process handed out. The kernel may offer a port just released again at the
# next bind to port 0, so two servers chosen before either starts could otherwise share one
# (a second milestones instance once failed to bind, unseen, because the first answered its
# health check).
_handed_out: set[int] = set()


def find_free_port(exclude: frozenset[int] = frozenset()) -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now and that this process
    has not handed out before."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in exclude and port not in _handed_out:
            _handed_out.add(port)
            return port


def _port_is_free(port: int) -> bool:
    # SO_REUSEADDR mirrors what the JVM sets on its server sockets; without it, TIME_WAIT
    # connections left by a previous broker on the same port would look like a conflict.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _accepts_tcp(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _tail_text(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _tail_file(path: Path, lines: int = 60) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            data = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    return _tail_text(data, lines)


def _run_blocking(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion from synchronous code, even inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    # asyncio.run refuses to nest, so async callers (e.g. async fixtures) get a worker thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def _random_cluster_id() -> str:
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # StorageTool would parse a leading '-' as an option.
        if not cluster_id.startswith("-"):
            return cluster_id


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


async def _probe_metadata(client: KafkaClientConfig, seconds: float) -> None:
    bootstrap = client.bootstrap_servers
    admin = AIOKafkaAdminClient(
        **client.aiokafka(
            client_id="cimis-local-kafka-probe",
            request_timeout_ms=max(1000, int(seconds * 1000)),
        )
    )
    try:
        async with asyncio.timeout(seconds):
            await admin.start()
            cluster = await admin.describe_cluster()
    finally:
        await admin.close()
    if not cluster.get("brokers"):
        raise KafkaStartError(f"metadata from {bootstrap} lists no brokers yet")


class LocalKafka:
    """A single-node KRaft broker+controller in a child process, state kept in `data_dir`."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int = 0,
        controller_port: int = 0,
        *,
        auto_create_topics: bool = True,
        heap: str = "512m",
        extra_properties: Mapping[str, str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        stop_at_exit: bool = True,
        access: KafkaAccess | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        # With access (the default for every caller on the platform), the client listener
        # takes SASL/SCRAM-SHA-512 only and the StandardAuthorizer checks every request
        # against the platform's ACLs; without, it is a bare PLAINTEXT broker.
        self.access = access
        # Ports are fixed here, not at start(), so restart() keeps the bootstrap address that
        # clients already hold.
        self.port = port or find_free_port()
        self.controller_port = controller_port or find_free_port(frozenset({self.port}))
        if self.port == self.controller_port:
            raise ValueError(f"port and controller_port are both {self.port}")
        self.auto_create_topics = auto_create_topics
        self.heap = heap
        self.extra_properties = dict(extra_properties or {})
        self._cache_dir = cache_dir
        self._stop_at_exit = stop_at_exit
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_dir(self) -> Path:
        """Kafka's `log.dirs`: partition data and KRaft metadata."""
        return self.data_dir / "data"

    @property
    def log_path(self) -> Path:
        """The broker's stdout/stderr (all log4j output goes there)."""
        return self.data_dir / "kafka.log"

    @property
    def properties_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, principal: str = ADMIN) -> KafkaClientConfig:
        """How ``principal`` connects to this broker (PLAINTEXT if it has no access set)."""
        if self.access is None:
            return KafkaClientConfig(self.bootstrap_servers, security_protocol="PLAINTEXT")
        return self.access.client(self.bootstrap_servers, principal)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Start the broker and block until it answers a metadata request."""
        if self.is_running:
            return
        libs = fetch_jars(self._cache_dir)
        java = _find_java()
        for port in (self.port, self.controller_port):
            if not _port_is_free(port):
                raise KafkaStartError(
                    f"127.0.0.1:{port} is already in use; is another broker running? "
                    f"(data dir {self.data_dir})"
                )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(self._render_properties())
        self._format_if_needed(java, libs)

        command = [
            java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *self._jvm_options(),
            "-cp",
            f"{libs}/*",
            "kafka.Kafka",
            str(self.properties_path),
        ]
        with self.log_path.open("ab") as log_file:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log_file.write(f"\n=== cimis: starting kafka.Kafka at {stamp} ===\n".encode())
            log_file.flush()
            # Own session (and process group) so Ctrl-C in a terminal or pytest reaches only
            # us, and stop() can signal the whole group.
            self._process = subprocess.Popen(
                command,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if self._stop_at_exit:
            atexit.register(self._stop_quietly)
        try:
            self._wait_until_ready(timeout)
            if self.access is not None:
                apply_access(self.client(ADMIN), self.access)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the broker (controlled shutdown), SIGKILL it if still alive after `timeout`."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("Kafka broker %s ignored SIGTERM for %.0fs", process.pid, timeout)
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        self._forget_process()

    def kill(self) -> None:
        """SIGKILL the broker without a controlled shutdown (simulates a crash)."""
        process = self._process
        if process is None:
            return
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
        self._forget_process()

    def create_topics(self, topics: Mapping[str, int]) -> None:
        """Create the topics that do not exist yet ({name: partitions}), as the admin."""
        _run_blocking(functools.partial(ensure_topics, self.client(ADMIN), topics))

    def restart(self, timeout: float = 60.0) -> None:
        """Stop and start again on the same data dir and ports."""
        self.stop()
        self.start(timeout)

    def detach(self) -> int:
        """Leave the broker running past this Python process; return its pid."""
        process = self._process
        if process is None or process.poll() is not None:
            raise KafkaStartError("broker is not running")
        self._forget_process()
        return process.pid

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"LocalKafka(data_dir={str(self.data_dir)!r}, port={self.port}, "
            f"controller_port={self.controller_port}, pid={self.pid})"
        )

    @property
    def _tmp_dir(self) -> Path:
        # Compression codecs unpack native libraries into java.io.tmpdir; /tmp may be noexec.
        return self.data_dir / "tmp"

    def _jvm_options(self) -> list[str]:
        return [
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG_PATH}",
            "-Dlog4j2.shutdownHookEnabled=false",
            f"-Djava.io.tmpdir={self._tmp_dir}",
        ]

    def _render_properties(self) -> str:
        properties: dict[str, str] = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            # Saves three seconds on every consumer-group join in tests.
            "group.initial.rebalance.delay.ms": "0",
            # Keeps the 128 MiB default dedupe buffer off a 512 MiB heap.
            "log.cleaner.dedupe.buffer.size": "2097152",
            "auto.create.topics.enable": "true" if self.auto_create_topics else "false",
        }
        if self.access is not None:
            properties.update(self._security_properties())
        properties.update(self.extra_properties)
        lines = ["# Written by cimis_devtools.kafka_local on every start; edits are lost."]
        lines += [f"{key}={value}" for key, value in properties.items()]
        return "\n".join(lines) + "\n"

    def _security_properties(self) -> dict[str, str]:
        assert self.access is not None
        admin_password = self.access.passwords[ADMIN]
        controller_password = self._controller_password()
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
        plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
        return {
            "listeners": (
                f"CLIENT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"CLIENT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
            "inter.broker.listener.name": "CLIENT",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.client.scram-sha-512.sasl.jaas.config": (
                f'{scram} required username="{ADMIN}" password="{admin_password}";'
            ),
            # KRaft controllers cannot check SCRAM (its credentials live in the metadata they
            # serve): the controller listener takes PLAIN with one static user, and only this
            # process knows its password.
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": (
                f'{plain} required username="controller" password="{controller_password}" '
                f'user_controller="{controller_password}";'
            ),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{ADMIN};User:controller",
            "allow.everyone.if.no.acl.found": "false",
        }

    def _controller_password(self) -> str:
        path = self.data_dir / "controller.password"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
        return path.read_text().strip()

    def _format_if_needed(self, java: str, libs: Path) -> None:
        # A formatted dir keeps its cluster id; formatting it again with a new one would make
        # the broker refuse to start ("Invalid cluster.id").
        marker = self.data_dir / "scram.formatted"
        if (self.log_dir / "meta.properties").exists():
            if self.access is not None and not marker.exists():
                raise KafkaStartError(
                    f"{self.log_dir} was formatted without authentication (an older make run); "
                    f"remove {self.data_dir} (make clean) so it is formatted with SCRAM users"
                )
            return
        command = [
            java,
            "-Xmx256m",
            *self._jvm_options(),
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _random_cluster_id(),
            "-c",
            str(self.properties_path),
        ]
        if self.access is not None:
            # The super user must exist before the broker can check anyone's credentials.
            password = self.access.passwords[ADMIN]
            command += ["--add-scram", f"SCRAM-SHA-512=[name={ADMIN},password={password}]"]
        result = subprocess.run(
            command,
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            output = _tail_text(result.stdout + result.stderr, 40)
            raise KafkaStartError(
                f"formatting {self.log_dir} failed with exit code {result.returncode}:\n{output}"
            )
        if self.access is not None:
            marker.write_text("formatted with the admin's SCRAM credential\n")

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "client port not open yet"
        while True:
            process = self._process
            if process is None:
                raise KafkaStartError("broker was stopped while starting")
            returncode = process.poll()
            if returncode is not None:
                raise KafkaStartError(
                    f"Kafka broker exited with code {returncode} during start-up; "
                    f"last lines of {self.log_path}:\n{_tail_file(self.log_path)}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KafkaStartError(
                    f"Kafka broker on {self.bootstrap_servers} not ready after {timeout:.0f}s "
                    f"({last_error}); last lines of {self.log_path}:\n"
                    f"{_tail_file(self.log_path)}"
                )
            # The client listener opens only once the broker is up, so TCP is the cheap check;
            # the metadata round trip proves it actually serves clients.
            if _accepts_tcp(self.port):
                probe = functools.partial(
                    _probe_metadata, self.client(ADMIN), min(10.0, max(1.0, remaining))
                )
                try:
                    _run_blocking(probe)
                except Exception as exc:  # any failure here is retried until the deadline
                    last_error = f"metadata request failed: {exc!r}"
                else:
                    return
            time.sleep(0.2)

    def _forget_process(self) -> None:
        self._process = None
        atexit.unregister(self._stop_quietly)

    def _stop_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()


@dataclass(frozen=True)
class DaemonStatus:
    """What the pid and port files in a daemon state dir say, checked against /proc."""

    state_dir: Path
    running: bool
    pid: int | None
    port: int | None

    @property
    def bootstrap_servers(self) -> str | None:
        return f"127.0.0.1:{self.port}" if self.port is not None else None


def _resolve_state_dir(state_dir: str | os.PathLike[str] | None) -> Path:
    return (Path(state_dir) if state_dir is not None else Path.cwd() / DEFAULT_STATE_DIR).resolve()


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise KafkaSetupError(f"{name}={raw!r} is not a port number") from exc


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_our_broker(pid: int) -> bool:
    """Tell whether `pid` is a live Kafka broker (guards against recycled pids)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and b"kafka.Kafka" in cmdline


def daemon_status(state_dir: str | os.PathLike[str] | None = None) -> DaemonStatus:
    """Whether the detached broker of `state_dir` (default ./var/kafka) is running."""
    directory = _resolve_state_dir(state_dir)
    pid = _read_int(directory / "kafka.pid")
    port = _read_int(directory / "kafka.port")
    running = pid is not None and _is_our_broker(pid)
    return DaemonStatus(directory, running, pid if running else None, port)


def start_daemon(
    state_dir: str | os.PathLike[str] | None = None,
    *,
    port: int | None = None,
    controller_port: int | None = None,
    timeout: float = 60.0,
) -> DaemonStatus:
    """Start a broker that outlives this process; ports default to env or 9092/9093.

    Returns the existing status without starting anything if the broker already runs.
    """
    directory = _resolve_state_dir(state_dir)
    current = daemon_status(directory)
    if current.running:
        return current
    client_port = port if port is not None else _env_port("CIMIS_KAFKA_PORT", DEFAULT_PORT)
    ctrl_port = (
        controller_port
        if controller_port is not None
        else _env_port("CIMIS_KAFKA_CONTROLLER_PORT", DEFAULT_CONTROLLER_PORT)
    )
    access = KafkaAccess.load_or_create(directory / "clients")
    broker = LocalKafka(directory, client_port, ctrl_port, stop_at_exit=False, access=access)
    broker.start(timeout)
    pid = broker.detach()
    (directory / "kafka.pid").write_text(f"{pid}\n")
    (directory / "kafka.port").write_text(f"{broker.port}\n")
    return DaemonStatus(directory, True, pid, broker.port)


def stop_daemon(
    state_dir: str | os.PathLike[str] | None = None, timeout: float = STOP_GRACE_SECONDS
) -> bool:
    """Stop the detached broker of `state_dir`; return False if it was not running."""
    directory = _resolve_state_dir(state_dir)
    status = daemon_status(directory)
    pid_file = directory / "kafka.pid"
    if not status.running or status.pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    pid = status.pid
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _is_our_broker(pid):
        if time.monotonic() >= deadline:
            log.warning("Kafka broker %s ignored SIGTERM for %.0fs; killing it", pid, timeout)
            _signal_group(pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    # SIGKILL is not instant (the kernel tears down a 512 MiB heap); bounded in case the
    # process is stuck in uninterruptible I/O.
    kill_deadline = time.monotonic() + 10.0
    while _is_our_broker(pid) and time.monotonic() < kill_deadline:
        time.sleep(0.1)
    if _is_our_broker(pid):
        raise KafkaStartError(f"Kafka broker {pid} survived SIGKILL; pid file kept")
    pid_file.unlink(missing_ok=True)
    return True
