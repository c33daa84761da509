"""Runs the burn-rate watch every FORECAST_SCAN_SECONDS on every instance.

No lease: the status change is recorded with a compare-and-set, so two instances announce
a change once; every instance refreshes its gauges, so any scrape is right.
"""

from __future__ import annotations

import asyncio
import logging

from cimis_chassis.logs import ThrottledLog
from cimis_chassis.service_host import ServiceHost
from services.outcomes.adapters.metrics import OutcomesMetrics
from services.outcomes.app.forecast_watch import ForecastWatch

log = logging.getLogger(__name__)


class ForecastScheduler:
    def __init__(
        self,
        host: ServiceHost,
        watch: ForecastWatch,
        metrics: OutcomesMetrics,
        *,
        interval_seconds: float,
    ) -> None:
        self._host = host
        self._watch = watch
        self._metrics = metrics
        self._interval_seconds = interval_seconds

    async def run(self) -> None:
        problems = ThrottledLog(log)  # one trace a minute while the database is down
        while True:
            try:
                announced, by_call = await self._watch.run_once()
                self._metrics.show(by_call)
                if announced:
                    log.info("burn rate changed for %d teams", len(announced))
                    self._host.relay.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                problems.report(
                    f"burn-rate:{type(exc).__name__}",
                    "burn-rate scan failed; retrying in %.1f s: %r",
                    self._interval_seconds,
                    exc,
                    level=logging.ERROR,
                    exc_info=exc,
                )
            await asyncio.sleep(self._interval_seconds)
