"""An intake service per test module, on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.intake.bootstrap import create_app
from services.intake.settings import IntakeSettings
from tests.support.service_app import RunningService, running_service


@pytest.fixture(scope="module")
async def intake(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    async with running_service(
        create_app,
        IntakeSettings,
        tmp_path=tmp_path_factory.mktemp("intake"),
    ) as service:
        yield service


CALL_BODY: dict[str, Any] = {
    "title": "CIMIS II",
    "districts": ["Erzgebirgskreis", "Chemnitz"],
    "opens_at": "2024-06-01",
    "closes_at": "2024-09-20",
    "total_budget": "500000.00",
    "max_team_budget": "50000.00",
}
