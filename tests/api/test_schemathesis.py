"""Schemathesis against each service's real process: the OpenAPI tells the truth.

Every service runs as its own process (SQLite, the session's Kafka broker, its own Kafka
principal) and the Schemathesis CLI tests every operation of its ``/openapi.json`` with all
checks: not only no 5xx, but status codes, content types, headers and bodies as documented,
invalid input refused, valid input accepted (unless a programme rule refuses it: see
``schemathesis_hooks.py``), a missing key answered with 401. The seed and the example count are
fixed, so a failure replays with the command line printed in the report (with
SCHEMATHESIS_HOOKS=tests.api.schemathesis_hooks and the repository on PYTHONPATH).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from cimis_chassis.auth import Role, create_key
from cimis_devtools.kafka_local import find_free_port
from tests.support.processes import REPO_ROOT, ServiceProcess

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SEED = 20240801
MAX_EXAMPLES = 20
# A bound on one service's whole run; it takes well under a minute on two cores.
RUN_TIMEOUT_SECONDS = 300.0
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
HOOKS = "tests.api.schemathesis_hooks"


@dataclass(frozen=True)
class Service:
    name: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return f"services.{self.name}.entrypoints.main"


SERVICES = [
    Service("intake"),
    Service("budget"),
    Service("milestones"),
    Service(
        "notify",
        {
            # Webhook receivers on this machine over http, as the notify process tests allow;
            # SMTP_PORT is the discarding sink below.
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "WEBHOOK_ALLOW_HTTP": "true",
            "SMTP_TIMEOUT_SECONDS": "5",
            "WEBHOOK_TIMEOUT_SECONDS": "5",
        },
    ),
    Service("outcomes"),
]


class _Discard:
    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    """A real SMTP server that accepts and drops whatever notify sends meanwhile."""
    controller = Controller(_Discard(), hostname="127.0.0.1", port=find_free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture(params=SERVICES, ids=lambda service: service.name)
async def service(
    request: pytest.FixtureRequest, tmp_path: Path, kafka_bootstrap: str, smtp_port: int
) -> AsyncIterator[tuple[ServiceProcess, str]]:
    spec: Service = request.param
    keys = tmp_path / "api-keys.json"
    # The admin role may call every operation, so every documented answer is reachable.
    token = create_key(keys, role=Role.ADMIN, principal="schemathesis")
    process = ServiceProcess(
        spec.module,
        name=spec.name,
        log_path=tmp_path / f"{spec.name}.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "DATABASE_URL": f"sqlite:///{tmp_path / (spec.name + '.db')}",
            "CIMIS_API_KEYS_FILE": str(keys),
            "VAR_DIR": str(tmp_path / "var"),
            "LOG_JSON": "false",
            "CONSUMER_GROUP": f"cimis-{spec.name}-schemathesis-{uuid.uuid4().hex[:8]}",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            # The test sends many requests from one address and one key, some without a key
            # on purpose (the ignored_auth check): the edge's limits would answer 429 to the
            # rest, which is documented but would leave the operations themselves untested.
            "HTTP_RATE_PER_KEY_PER_SECOND": "100000",
            "HTTP_RATE_BURST_PER_KEY": "100000",
            "HTTP_AUTH_FAILURES_PER_ADDRESS": "100000",
            **spec.env,
        },
    )
    async with process:
        yield process, token


def schemathesis_command(base_url: str, token: str) -> list[str]:
    return [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        # Replaced by positive_data_acceptance_beyond_rules from schemathesis_hooks.py: the
        # contract answers some schema-valid requests with a 422 programme rule (a deadline
        # before the opening, an exceeded budget) or a 400 invalid-cursor, which no schema
        # can express; a 422 validation-error for valid data still fails. See the hooks.
        "--exclude-checks",
        "positive_data_acceptance",
        # No stateful phase: the document declares no links, and the inferred ones were never
        # followed (the answers have no schema to take ids from); it only repeated requests.
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # One worker: with a fixed seed, the same requests in the same order on every run.
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--header",
        f"Authorization: Bearer {token}",
        "--no-color",
    ]


async def test_the_service_honours_its_openapi_document(
    service: tuple[ServiceProcess, str], tmp_path: Path
) -> None:
    process, token = service
    command = schemathesis_command(process.base_url, token)
    started = time.monotonic()
    child = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        env=os.environ | {"SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(REPO_ROOT)},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(child.communicate(), RUN_TIMEOUT_SECONDS)
    except TimeoutError:
        child.kill()
        await child.wait()
        pytest.fail(f"schemathesis did not finish within {RUN_TIMEOUT_SECONDS:.0f}s")
    report = output.decode("utf-8", errors="replace")
    elapsed = time.monotonic() - started
    shown = f"SCHEMATHESIS_HOOKS={HOOKS} PYTHONPATH={REPO_ROOT} " + shlex.join(command).replace(
        token, "<admin key>"
    )
    assert child.returncode == 0, (
        f"schemathesis found failures in {process.name} after {elapsed:.0f}s\n$ {shown}\n"
        f"{report}\n--- service log ---\n{process.log_tail(80)}"
    )
