"""Run a throwaway PostgreSQL server from the installed binaries for tests and local development."""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg import sql

__all__ = [
    "LocalPostgres",
    "PostgresNotFoundError",
    "PostgresStartError",
    "find_postgres_bindir",
]

INSTALL_HINT = (
    "install Debian's `postgresql` package (apt-get install postgresql) or set "
    "CIMIS_TEST_POSTGRES_URL to an existing database, e.g. "
    "postgresql+psycopg://postgres@127.0.0.1:5432/cimis_test"
)
STOP_GRACE_SECONDS = 20.0
# Unix socket paths are limited to 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresNotFoundError(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


class PostgresStartError(RuntimeError):
    """initdb or the server failed."""


def _has_server_binaries(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in ("initdb", "postgres"))


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: compare numerically so 15 beats 9.6.
    parts = re.findall(r"\d+", path.parent.name)
    return tuple(int(p) for p in parts)


def find_postgres_bindir() -> Path:
    """Locate initdb/postgres: `pg_config --bindir`, newest /usr/lib/postgresql/*/bin, PATH."""
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidate = Path(result.stdout.strip())
            if _has_server_binaries(candidate):
                return candidate
    versioned = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for candidate in versioned:
        if _has_server_binaries(candidate):
            return candidate
    initdb = shutil.which("initdb")
    if initdb is not None and _has_server_binaries(Path(initdb).parent):
        return Path(initdb).parent
    raise PostgresNotFoundError(
        f"PostgreSQL server binaries (initdb, postgres) not found: {INSTALL_HINT}"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _tail_file(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    return "\n".join(text.rstrip().splitlines()[-lines:])


class LocalPostgres:
    """A PostgreSQL server in a child process on 127.0.0.1 with trust auth and fsync off.

    When running as root the server runs as the `postgres` system user (PostgreSQL refuses
    root), so `data_dir` and all its parents must be reachable by that user, e.g. a directory
    made with tempfile.mkdtemp() rather than one under pytest's 0700 /tmp/pytest-of-root.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int = 0,
        *,
        database: str = "cimis",
        bindir: str | os.PathLike[str] | None = None,
        settings: Mapping[str, str] | None = None,
        stop_at_exit: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or _free_port()
        self.database = _check_db_name(database)
        self.user = "postgres"
        self._bindir = Path(bindir) if bindir is not None else None
        self._settings = dict(settings or {})
        self._stop_at_exit = stop_at_exit
        self._process: subprocess.Popen[bytes] | None = None
        self._run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._run_as = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresNotFoundError(
                    f"running as root, but there is no `postgres` system user to run the "
                    f"server as: {INSTALL_HINT}"
                ) from exc

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default database."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """Libpq connection string (for psycopg.connect without SQLAlchemy)."""
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={database}"

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Initdb if needed, start the server, create the default database."""
        if self.is_running:
            return
        bindir = self._bindir or find_postgres_bindir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self._hand_over_data_dir()
        if not (self.cluster_dir / "PG_VERSION").exists():
            self._initdb(bindir)

        settings: dict[str, str] = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": self._socket_setting(),
            # Durability is pointless for throwaway test data and costs seconds per test run.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        settings.update(self._settings)
        command = [str(bindir / "postgres"), "-D", str(self.cluster_dir)]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        with self.log_path.open("ab") as log_file:
            # Own session so a terminal's Ctrl-C does not reach the server before stop() does.
            self._process = subprocess.Popen(
                command,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._privilege_drop(),
            )
        if self._stop_at_exit:
            atexit.register(self._stop_quietly)
        try:
            self._wait_until_ready(timeout)
            self._ensure_database(self.database)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = STOP_GRACE_SECONDS) -> None:
        """Fast shutdown (SIGINT); immediate shutdown, then SIGKILL if it hangs."""
        process = self._process
        if process is None:
            return
        steps = ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, None))
        for sig, wait_for in steps:
            if process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                # The whole group, so backends die with the postmaster even under SIGKILL.
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(wait_for)
        self._process = None
        atexit.unregister(self._stop_quietly)

    def create_database(self, name: str) -> str:
        """Create database `name` (must not exist yet) and return its SQLAlchemy URL."""
        _check_db_name(name)
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, disconnecting its sessions."""
        _check_db_name(name)
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

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
        pid = self._process.pid if self._process is not None else None
        return f"LocalPostgres(data_dir={str(self.data_dir)!r}, port={self.port}, pid={pid})"

    def _privilege_drop(self) -> dict[str, Any]:
        if self._run_as is None:
            return {}
        account = self._run_as
        env = dict(os.environ, HOME=account.pw_dir, USER="postgres", LOGNAME="postgres")
        # Same effect as `runuser -u postgres --` without a PAM session or an extra process
        # between us and the server; extra_groups=[] drops root's supplementary groups.
        return {
            "user": account.pw_uid,
            "group": account.pw_gid,
            "extra_groups": [],
            "env": env,
        }

    def _hand_over_data_dir(self) -> None:
        account = self._run_as
        if account is None:
            return
        for path in (self.data_dir, self.socket_dir):
            os.chown(path, account.pw_uid, account.pw_gid)
        probe = subprocess.run(
            [shutil.which("test") or "/usr/bin/test", "-w", str(self.data_dir)],
            check=False,
            **self._privilege_drop(),
        )
        if probe.returncode != 0:
            raise PostgresStartError(
                f"{self.data_dir} is not reachable by the `postgres` user (a parent directory "
                f"is not searchable by it); use a directory such as tempfile.mkdtemp() gives"
            )

    def _initdb(self, bindir: Path) -> None:
        base = [
            str(bindir / "initdb"),
            "-D",
            str(self.cluster_dir),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ]
        # C.UTF-8 keeps upper()/lower() right for umlauts; plain C is the fallback where the
        # locale is missing.
        errors = []
        for locale in ("C.UTF-8", "C"):
            result = subprocess.run(
                [*base, f"--locale={locale}"],
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
                **self._privilege_drop(),
            )
            if result.returncode == 0:
                return
            errors.append(f"--locale={locale}: {(result.stdout + result.stderr).strip()}")
            shutil.rmtree(self.cluster_dir, ignore_errors=True)
        raise PostgresStartError("initdb failed:\n" + "\n".join(errors))

    def _socket_setting(self) -> str:
        socket_path = self.socket_dir / f".s.PGSQL.{self.port}"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            # TCP on 127.0.0.1 is all the URLs use; a too-long path would abort the start.
            return ""
        return str(self.socket_dir)

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no connection attempt yet"
        while True:
            process = self._process
            if process is None:
                raise PostgresStartError("server was stopped while starting")
            returncode = process.poll()
            if returncode is not None:
                raise PostgresStartError(
                    f"postgres exited with code {returncode} during start-up; last lines of "
                    f"{self.log_path}:\n{_tail_file(self.log_path)}"
                )
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                last_error = str(exc).strip()
            if time.monotonic() >= deadline:
                raise PostgresStartError(
                    f"postgres on 127.0.0.1:{self.port} not ready after {timeout:.0f}s "
                    f"({last_error}); last lines of {self.log_path}:\n"
                    f"{_tail_file(self.log_path)}"
                )
            time.sleep(0.1)

    def _ensure_database(self, name: str) -> None:
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def _stop_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()


def _check_db_name(name: str) -> str:
    # Names end up in URLs unquoted, so only plain identifiers are accepted.
    if not _DB_NAME.match(name):
        raise ValueError(f"database name {name!r} must match {_DB_NAME.pattern}")
    return name
