"""One chaos run from start to verdict: platform up, workload and faults, settle, compare, down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from cimis_devtools.chaos.broker_state import end_offsets
from cimis_devtools.chaos.checks import check
from cimis_devtools.chaos.client import Api
from cimis_devtools.chaos.counters import DuplicateCounter
from cimis_devtools.chaos.faults import FaultInjector, schedule
from cimis_devtools.chaos.oracle import OVERDUE_OFFSET_DAYS, Expectation, expect
from cimis_devtools.chaos.platform import PLATFORM_TOPICS, Platform
from cimis_devtools.chaos.poison import Injector
from cimis_devtools.chaos.profiles import PROFILES
from cimis_devtools.chaos.report import Result
from cimis_devtools.chaos.runner import Runner
from cimis_devtools.chaos.settle import settle
from cimis_devtools.chaos.workload import generate

log = logging.getLogger(__name__)

SETTLE_SECONDS = 300.0
SUPPRESSED = "cimis_events_consumed_total{outcome=duplicate}, last scrape of each process run"
OVERDUE_SECONDS = 150.0


async def run(seed: int, profile: str, poison_kinds: Sequence[str], workdir: Path) -> Result:
    started = time.monotonic()
    workload = generate(seed, PROFILES[profile])
    expectation = expect(workload)
    result = Result(seed=seed, profile=profile, workdir=str(workdir))
    platform = Platform(workdir, workload)
    api = Api(platform.running, platform.tokens, seed)
    counter = DuplicateCounter(platform.all_processes)
    injector = Injector(platform)
    runner = Runner(workload, platform, api)
    faults = FaultInjector(workload, platform, runner, counter, injector)
    background: list[asyncio.Task[None]] = []
    try:
        await platform.start()
        background.append(asyncio.create_task(counter.run()))
        striking = asyncio.create_task(faults.run(schedule(workload, poison_kinds)))
        background.append(striking)
        await runner.run()
        await striking
        log.info("workload and faults done after %.0f s; settling", time.monotonic() - started)
        await _single_instances(platform, counter)
        moving = await settle(platform, SETTLE_SECONDS)
        result.differences += [f"after the workload: {m}" for m in moving]
        # A platform that did not come to rest will not now: look, but do not wait long.
        patience = 10.0 if moving else SETTLE_SECONDS
        await _overdue_phase(platform, counter, expectation, min(patience, OVERDUE_SECONDS))
        moving = await settle(platform, patience)
        result.differences += [f"after the overdue scan: {m}" for m in moving]
        for process in platform.all_processes():
            await counter.scrape(process)
        findings = await check(workload, expectation, platform, runner, api, injector.injected)
        events = sum((await end_offsets(platform.kafka_client, PLATFORM_TOPICS)).values())
        result.differences = (
            runner.failures + faults.log.problems + result.differences + findings.differences
        )
        retried = ", ".join(f"{n} x {s}" for s, n in sorted(api.tally.by_status.items()))
        poisoned = ", ".join(sorted({i.kind for i in injector.injected}))
        result.rows = [
            ("events", f"{events} records on {', '.join(PLATFORM_TOPICS)}"),
            ("commands", f"{api.tally.commands} ({api.tally.retries} retries: {retried})"),
            ("kills", f"{faults.log.kills} SIGKILLs, each process restarted"),
            ("broker restarts", str(faults.log.broker_restarts)),
            ("rebalances", f"{faults.log.rebalances} second instances started and stopped"),
            ("duplicates sent", f"{injector.duplicates} valid records sent again byte for byte"),
            ("duplicates suppressed", f"{counter.total} ({SUPPRESSED})"),
            ("poison records", f"{len(injector.injected)} ({poisoned or 'none'})"),
            ("dead letters", str(findings.dead_letters)),
            ("alerts", _alerts_line(expectation, findings.mails, findings.webhooks)),
            (
                "redeliveries folded",
                f"{findings.mail_copies} mail, {findings.webhook_copies} webhook copies",
            ),
            ("wall time", f"{time.monotonic() - started:.0f} s"),
        ]
        return result
    finally:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await injector.close()
        await api.close()
        await counter.close()
        await platform.stop()


def _alerts_line(expectation: Expectation, mails: int, webhooks: int) -> str:
    kinds = expectation.alerts()
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    return f"{mails} mails, {webhooks} webhooks ({summary})"


async def _single_instances(platform: Platform, counter: DuplicateCounter) -> None:
    """End with one running instance per service, as a rebalance or a kill may have left it."""
    for processes in platform.instances.values():
        for extra in processes[1:]:
            await counter.scrape(extra)
            await extra.stop(grace=20)
        if not processes[0].is_running:
            await processes[0].start(180.0)


async def _overdue_phase(
    platform: Platform, counter: DuplicateCounter, expectation: Expectation, patience: float
) -> None:
    """Move the milestones clock past the early due dates; the open ones become overdue once."""
    await counter.scrape(platform.instances["milestones"][0])
    await platform.restart_with(
        "milestones",
        CIMIS_CLOCK_OFFSET_SECONDS=str(OVERDUE_OFFSET_DAYS * 86400),
        OVERDUE_SCAN_SECONDS="1",
    )
    alerts = expectation.alerts()
    wanted = (alerts["milestone_overdue"], alerts["milestone_escalated"])
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        [(raised, escalated)] = await asyncio.to_thread(
            platform.query,
            "milestones",
            "SELECT (SELECT count(*) FROM overdue_alerts), "
            "(SELECT count(*) FROM overdue_escalations)",
        )
        if raised >= wanted[0] and escalated >= wanted[1]:
            return
        await asyncio.sleep(1.0)


def default_workdir(seed: int) -> Path:
    return Path("var") / "chaos" / f"seed-{seed}-{int(time.time())}"
