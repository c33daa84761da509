"""The seeded fault schedule and its executor: kills, broker restarts, rebalances, poison."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from cimis_devtools.chaos.counters import DuplicateCounter
from cimis_devtools.chaos.platform import Platform
from cimis_devtools.chaos.poison import KINDS, Injector, Target, topic_for
from cimis_devtools.chaos.runner import Runner
from cimis_devtools.chaos.workload import Complete, Withdraw, Workload
from cimis_devtools.kafka_access import SERVICES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fault:
    at: float  # share of the planned commands sent when it strikes
    kind: str  # kill | broker | rebalance-start | rebalance-stop | poison | duplicates
    target: str = ""  # a service, a poison kind, a topic, or "hard"/"soft" for the broker


def schedule(workload: Workload, poison_kinds: Sequence[str]) -> list[Fault]:
    profile = workload.profile
    rng = random.Random(f"faults-{workload.seed}")  # noqa: S311 (seeded for replays)
    faults = [
        Fault(rng.uniform(0.02, 0.95), "kill", rng.choice(SERVICES)) for _ in range(profile.kills)
    ]
    for n in range(profile.broker_restarts):
        faults.append(Fault(rng.uniform(0.15, 0.85), "broker", "hard" if n % 2 else "soft"))
    # One window per rebalance, side by side: a second instance is never started twice.
    width = 0.85 / max(1, profile.rebalances)
    for n in range(profile.rebalances):
        start = 0.05 + n * width + rng.uniform(0.0, width / 3)
        service = ("budget", "notify")[n % 2]
        faults.append(Fault(start, "rebalance-start", service))
        faults.append(Fault(start + rng.uniform(width / 3, width * 0.6), "rebalance-stop", service))
    for _ in range(profile.duplicate_bursts):
        topic = rng.choice(("cimis.intake.v1", "cimis.budget.v1", "cimis.milestones.v1"))
        faults.append(Fault(rng.uniform(0.2, 0.95), "duplicates", topic))
    for kind in poison_kinds:
        faults.append(Fault(rng.uniform(0.1, 0.9), "poison", kind))
    return sorted(faults, key=lambda f: f.at)


@dataclass
class FaultLog:
    kills: int = 0
    broker_restarts: int = 0
    rebalances: int = 0
    problems: list[str] = field(default_factory=list)


class FaultInjector:
    def __init__(
        self,
        workload: Workload,
        platform: Platform,
        runner: Runner,
        counter: DuplicateCounter,
        injector: Injector,
    ) -> None:
        self.workload = workload
        self.platform = platform
        self.runner = runner
        self.counter = counter
        self.injector = injector
        self.log = FaultLog()
        self._rng = random.Random(f"fault-choices-{workload.seed}")  # noqa: S311 (replays)

    async def run(self, faults: Sequence[Fault]) -> None:
        for fault in faults:
            # A workload that ended early still gets every fault, so the counts stay as planned.
            await self.runner.reached(fault.at)
            log.info("fault at %.3f: %s %s", self.runner.progress, fault.kind, fault.target)
            try:
                await self._strike(fault)
            except Exception as exc:
                # A fault that could not be dealt (a process that would not come back, a broker
                # that refused the poison) is itself a finding, not a reason to stop the run.
                log.exception("fault %s %s failed", fault.kind, fault.target)
                self.log.problems.append(f"fault {fault.kind} {fault.target}: {exc!r}"[:2000])

    async def _strike(self, fault: Fault) -> None:
        match fault.kind:
            case "kill":
                await self._kill(fault.target)
            case "broker":
                await self._restart_broker(hard=fault.target == "hard")
            case "rebalance-start":
                await self.platform.start_second(fault.target)
                self.log.rebalances += 1
            case "rebalance-stop":
                second = self.platform.instances[fault.target][1]
                await self.counter.scrape(second)
                await second.stop(grace=20)
            case "duplicates":
                await self.injector.duplicate(fault.target, self._rng.randint(5, 30), self._rng)
            case "poison":
                topic = topic_for(fault.target, self._rng)
                await self.injector.poison(fault.target, topic, await self._target())

    async def _kill(self, service: str) -> None:
        running = self.platform.running(service)
        if not running:
            return
        victim = self._rng.choice(running)
        await self.counter.scrape(victim)
        await victim.kill()
        self.log.kills += 1
        await asyncio.sleep(self._rng.uniform(0.0, 2.0))
        await victim.start(180.0)

    async def _restart_broker(self, *, hard: bool) -> None:
        kafka = self.platform.kafka
        await asyncio.to_thread(kafka.kill if hard else kafka.stop)
        await asyncio.sleep(self._rng.uniform(1.0, 4.0))
        await asyncio.to_thread(kafka.start, 180.0)
        self.log.broker_restarts += 1

    async def _target(self) -> Target:
        """A running team whose script never completes its prototype nor withdraws."""
        candidates = [
            t
            for t in self.workload.teams
            if not any(
                isinstance(s, Withdraw) or (isinstance(s, Complete) and s.key == "prototype")
                for s in t.steps
            )
        ]
        while True:
            known = [t for t in candidates if t.ref in self.runner.team_ids]
            if known or self.runner.finished.is_set():
                break
            await asyncio.sleep(0.2)
        team = known[0] if known else self.workload.teams[0]
        return Target(
            call_id=self.runner.call_ids[self.workload.calls[team.call].ref],
            team_id=self.runner.team_ids.get(team.ref, "no-such-team"),
            agent_id=team.agent_id,
        )


def poison_kinds(spec: str | None) -> list[str]:
    """``None``: every kind; else a comma-separated selection."""
    if spec is None:
        return list(KINDS)
    kinds = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown poison kinds {unknown}; known: {', '.join(KINDS)}")
    return kinds
