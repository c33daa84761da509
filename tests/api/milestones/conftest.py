"""A milestones service per test module, on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.milestones.bootstrap import create_app
from services.milestones.settings import MilestonesSettings
from tests.support.service_app import RunningService, running_service


class QuickScanSettings(MilestonesSettings):
    # The scheduler notices a moved test clock within a fraction of a second.
    overdue_scan_seconds: float = 0.05


@pytest.fixture(scope="module")
async def milestones(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    async with running_service(
        create_app,
        QuickScanSettings,
        tmp_path=tmp_path_factory.mktemp("milestones"),
    ) as service:
        yield service
