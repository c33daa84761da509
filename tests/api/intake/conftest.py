"""An intake service per test module, on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from cimis_contracts.base import EventData
from cimis_contracts.notify import AgentRegisteredV1
from services.intake.bootstrap import create_app
from services.intake.entrypoints.consumer import intake_consumer
from services.intake.settings import IntakeSettings
from tests.support.feed import published_event, record_of
from tests.support.service_app import RunningService, running_service


@pytest.fixture(scope="module")
async def intake(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    async with running_service(
        create_app,
        IntakeSettings,
        tmp_path=tmp_path_factory.mktemp("intake"),
    ) as service:
        await register_agents(service, "agent-anna", "agent-ben")
        yield service


async def register_agents(service: RunningService, *agent_ids: str) -> None:
    """Notify announces the agents, and intake's consumer learns them, as over Kafka."""
    await announce(
        service,
        *(
            AgentRegisteredV1(agent_id=a, name=a.title(), registered_at=service.clock.now())
            for a in agent_ids
        ),
    )


async def announce(service: RunningService, *payloads: EventData) -> None:
    events = [published_event(service, p) for p in payloads]
    await intake_consumer(service.host).process(
        [record_of(e, offset) for offset, e in enumerate(events)]
    )


CALL_BODY: dict[str, Any] = {
    "title": "CIMIS II",
    "districts": ["Erzgebirgskreis", "Chemnitz"],
    "opens_at": "2024-06-01",
    "closes_at": "2024-09-20",
    "total_budget": "500000.00",
    "max_team_budget": "50000.00",
}
