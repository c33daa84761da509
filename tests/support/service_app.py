"""Runs a service's real app in-process for API tests: its real database, no Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from cimis_chassis.auth import Role, create_key
from cimis_chassis.clock import ManualClock
from cimis_chassis.service_host import ServiceHost

START = datetime(2024, 8, 1, 8, 0, tzinfo=UTC)


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient
    clock: ManualClock
    keys: dict[str, str]

    @property
    def host(self) -> ServiceHost:
        return self.app.state.host  # type: ignore[no-any-return]

    def auth(self, who: str) -> dict[str, str]:
        """Headers for one of the principals created for the test (``staff``, ``agent-anna``…)."""
        return {"Authorization": f"Bearer {self.keys[who]}"}


def make_keys(path: Path) -> dict[str, str]:
    principals = {
        "admin": Role.ADMIN,
        "staff": Role.STAFF,
        "staff2": Role.STAFF,
        "finance": Role.FINANCE,
        "finance2": Role.FINANCE,
        "operator": Role.OPERATOR,
        "agent-anna": Role.AGENT,
        "agent-ben": Role.AGENT,
    }
    return {name: create_key(path, role=role, principal=name) for name, role in principals.items()}


@asynccontextmanager
async def running_service(
    create_app: Callable[..., FastAPI],
    settings_cls: type,
    *,
    tmp_path: Path,
    database_url: str | None = None,
    clock: ManualClock | None = None,
    **settings: Any,
) -> AsyncIterator[RunningService]:
    keys_file = tmp_path / "api-keys.json"
    keys = make_keys(keys_file)
    clock = clock or ManualClock(START)
    service_settings = settings_cls(
        database_url=database_url or f"sqlite:///{tmp_path / 'service.db'}",
        cimis_api_keys_file=keys_file,
        var_dir=tmp_path,
        # API tests feed events to the handlers themselves and read what the service would
        # publish from its outbox: the process never connects to a broker.
        consume_events=False,
        publish_events=False,
        **settings,
    )
    app = create_app(service_settings, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield RunningService(app=app, client=client, clock=clock, keys=keys)
