"""Runs the weekly digest job every few seconds (DIGEST_CHECK_SECONDS) on every instance.

No lease: the per-week record in the database keeps instances from sending a digest twice,
and a check that finds nothing due is one small query.
"""

from __future__ import annotations

import asyncio
import logging

from cimis_chassis.logs import ThrottledLog
from services.notify.app.digests import WeeklyDigests

log = logging.getLogger(__name__)


class DigestScheduler:
    def __init__(self, digests: WeeklyDigests, *, interval_seconds: float) -> None:
        self._digests = digests
        self._interval_seconds = interval_seconds

    async def run(self) -> None:
        problems = ThrottledLog(log)  # one trace a minute while the database is down
        while True:
            try:
                decided = await self._digests.run_once()
                if decided:
                    log.info("weekly digests decided: %s", decided)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                problems.report(
                    f"digest:{type(exc).__name__}",
                    "weekly digest check failed; retrying in %.1f s: %r",
                    self._interval_seconds,
                    exc,
                    level=logging.ERROR,
                    exc_info=exc,
                )
            await asyncio.sleep(self._interval_seconds)
