"""Runs the milestones process: ``python -m services.milestones.entrypoints.main``."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import uvicorn

from cimis_chassis.clock import Clock, SystemClock
from cimis_chassis.logs import configure_logging
from services.milestones.bootstrap import create_app
from services.milestones.settings import MilestonesSettings

log = logging.getLogger(__name__)


class ShiftedClock:
    """TEST ONLY: the system clock moved by a fixed offset, so process tests reach due dates."""

    def __init__(self, offset: timedelta) -> None:
        self._offset = offset
        self._system = SystemClock()

    def now(self) -> datetime:
        return self._system.now() + self._offset


def clock_for(settings: MilestonesSettings) -> Clock:
    offset = settings.cimis_clock_offset_seconds
    if offset:
        log.warning("clock shifted by %s s (CIMIS_CLOCK_OFFSET_SECONDS): for tests only", offset)
        return ShiftedClock(timedelta(seconds=offset))
    return SystemClock()


def main() -> None:
    settings = MilestonesSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    app = create_app(settings, clock_for(settings))
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None)


if __name__ == "__main__":
    main()
