"""How big a chaos run is: teams, expenses and how many faults of each kind."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    teams: int
    expenses: int
    agents: int
    kills: int
    broker_restarts: int
    rebalances: int
    duplicate_bursts: int
    agent_changes: int
    # Team scripts running at once: the knob between load and wall time on a small machine.
    concurrency: int


PROFILES = {
    # A quick look at the machinery, not a proof.
    "smoke": Profile(
        name="smoke",
        teams=6,
        expenses=40,
        agents=3,
        kills=2,
        broker_restarts=0,
        rebalances=0,
        duplicate_bursts=1,
        agent_changes=2,
        concurrency=6,
    ),
    "short": Profile(
        name="short",
        teams=20,
        expenses=200,
        agents=6,
        kills=10,
        broker_restarts=1,
        rebalances=1,
        duplicate_bursts=2,
        agent_changes=6,
        concurrency=8,
    ),
    "long": Profile(
        name="long",
        teams=200,
        expenses=5000,
        agents=16,
        kills=50,
        broker_restarts=2,
        rebalances=4,
        duplicate_bursts=6,
        agent_changes=40,
        concurrency=16,
    ),
}
