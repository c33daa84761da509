"""Duplicates the services suppressed, from their Prometheus counters scraped during the run.

A process's counters die with it, so each run of each process keeps its last scrape; the
driver scrapes a process right before it kills or stops it. Only what a process counted
between its last scrape and a kill is missed, so the total is a lower bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import httpx

from cimis_devtools.processes import ServiceProcess

SERIES = "cimis_events_consumed_total{"
SCRAPE_SECONDS = 2.0


class DuplicateCounter:
    def __init__(self, processes: Callable[[], list[ServiceProcess]]) -> None:
        self._processes = processes
        self._last: dict[tuple[str, int], float] = {}
        self._client = httpx.AsyncClient(timeout=5.0)

    @property
    def total(self) -> int:
        return int(sum(self._last.values()))

    async def scrape(self, process: ServiceProcess) -> None:
        if not process.is_running:
            return
        with contextlib.suppress(httpx.HTTPError):
            response = await self._client.get(process.base_url + "/metrics")
            value = sum(
                float(line.rpartition(" ")[2])
                for line in response.text.splitlines()
                if line.startswith(SERIES) and 'outcome="duplicate"' in line
            )
            self._last[(process.name, process.runs)] = value

    async def run(self) -> None:
        while True:
            for process in self._processes():
                await self.scrape(process)
            await asyncio.sleep(SCRAPE_SECONDS)

    async def close(self) -> None:
        await self._client.aclose()
