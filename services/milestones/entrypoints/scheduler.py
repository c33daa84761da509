"""Runs the overdue scan in the background: one instance at a time, and it keeps going on errors."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from datetime import timedelta

from prometheus_client import Gauge

from cimis_chassis.leases import acquire_lease, release_lease
from cimis_chassis.logs import ThrottledLog
from cimis_chassis.service_host import ServiceHost
from services.milestones.app.overdue import OverdueScan

log = logging.getLogger(__name__)


class OverdueScheduler:
    """Scans every ``interval_seconds`` while holding the ``milestones-overdue-scan`` lease.

    The lease only saves the other instances the work; correctness does not depend on it: the
    alert claim in the database keeps two overlapping scans (an expired lease, clock skew)
    from alerting twice. Every instance refreshes the overdue gauge, so any scrape is right.
    """

    LEASE = "milestones-overdue-scan"

    def __init__(
        self, host: ServiceHost, scan: OverdueScan, gauge: Gauge, *, interval_seconds: float
    ) -> None:
        self._host = host
        self._scan = scan
        self._gauge = gauge
        self._interval_seconds = interval_seconds
        # Long enough that a busy scan is not taken over; short enough for a quick failover.
        self._lease_ttl = timedelta(seconds=max(60.0, 3 * interval_seconds))
        self._holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"

    async def run(self) -> None:
        problems = ThrottledLog(log)  # one trace a minute while the database is down
        try:
            while True:
                try:
                    await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    problems.report(
                        f"scan:{type(exc).__name__}",
                        "overdue scan failed; retrying in %.1f s: %r",
                        self._interval_seconds,
                        exc,
                        level=logging.ERROR,
                        exc_info=exc,
                    )
                await asyncio.sleep(self._interval_seconds)
        finally:
            try:
                await release_lease(
                    self._host.db, self._host.tables.leases, name=self.LEASE, holder=self._holder
                )
            except Exception:
                log.warning("could not release the overdue scan lease", exc_info=True)

    async def tick(self) -> None:
        """One round: scan if this instance holds the lease, then refresh the gauge."""
        host = self._host
        held = await acquire_lease(
            host.db,
            host.tables.leases,
            name=self.LEASE,
            holder=self._holder,
            now=host.clock.now(),
            ttl=self._lease_ttl,
        )
        if held:
            raised = await self._scan.run_once()
            if raised:
                log.info("raised %d overdue alerts", len(raised))
                host.relay.wake()
        self._gauge.set(await self._scan.count_overdue())
