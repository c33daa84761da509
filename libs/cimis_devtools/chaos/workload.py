"""The seeded workload: agents, calls and one script of valid-by-construction commands per team."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from cimis_devtools.chaos.books import ACCEPTANCE, PHASES, TeamBook
from cimis_devtools.chaos.profiles import Profile

POSITIONS = ("personnel", "material", "external_services", "travel", "other")
FINANCE = ("fin-a", "fin-b")
STAFF = "staff-1"
# Confirms the milestones others reported (four eyes).
CONFIRMING_STAFF = "staff-2"
Decision = Literal["approve", "reject", "reverse", "pending"]


@dataclass(frozen=True)
class AgentPlan:
    id: str
    name: str
    webhook: bool


@dataclass(frozen=True)
class AgentChange:
    """A profile edit at some point of the run; the channels an agent has never change."""

    at_fraction: float
    agent_id: str
    name: str
    email: str
    webhook_path: str


@dataclass(frozen=True)
class CallPlan:
    ref: str
    total_cents: int
    max_team_cents: int


@dataclass(frozen=True)
class ExpensePlan:
    ref: str
    position: str
    net_cents: int
    vat_cents: int
    fundable_cents: int
    by_agent: bool
    decision: Decision
    approver: str  # also the rejecter; the reverser is the other finance principal

    @property
    def reverser(self) -> str:
        return FINANCE[1] if self.approver == FINANCE[0] else FINANCE[0]


@dataclass(frozen=True)
class Spend:
    """Submit every expense, then decide them in ``decide_order``, then reverse the reversals."""

    expenses: tuple[ExpensePlan, ...]
    decide_order: tuple[int, ...]


@dataclass(frozen=True)
class Complete:
    key: str
    by_agent: bool


@dataclass(frozen=True)
class Withdraw:
    reason: str


Step = Spend | Complete | Withdraw


@dataclass(frozen=True)
class TeamPlan:
    ref: str
    call: int
    agent_id: str
    budget_cents: int
    vat_deductible: bool
    creatives: int
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Workload:
    seed: int
    profile: Profile
    agents: tuple[AgentPlan, ...]
    calls: tuple[CallPlan, ...]
    teams: tuple[TeamPlan, ...]
    agent_changes: tuple[AgentChange, ...]

    def agent(self, agent_id: str) -> AgentPlan:
        return next(a for a in self.agents if a.id == agent_id)

    def planned_commands(self) -> int:
        count = len(self.agents) + len(self.calls) + len(self.agent_changes)
        for team in self.teams:
            count += 1 + team.creatives + 2  # applications, propose, accept
            for step in team.steps:
                if isinstance(step, Spend):
                    count += sum(_commands_of(e) for e in step.expenses)
                else:
                    count += 1
        return count


def _commands_of(expense: ExpensePlan) -> int:
    return {"approve": 2, "reject": 2, "reverse": 3, "pending": 1}[expense.decision]


def generate(seed: int, profile: Profile) -> Workload:
    rng = random.Random(seed)  # noqa: S311 (seeded for replays)
    agents = tuple(
        AgentPlan(f"agent-{i:02d}", f"Agentin {i:02d}", webhook=i % 2 == 0)
        for i in range(profile.agents)
    )
    per_team = _split_count(profile.expenses, profile.teams)
    teams = tuple(
        _team(rng, index, agents, per_team[index], calls=2) for index in range(profile.teams)
    )
    calls = tuple(
        CallPlan(
            ref=f"call-{c}",
            # Room to spare: no acceptance is ever refused, so the oracle needs no pot order.
            total_cents=sum(t.budget_cents for t in teams if t.call == c) * 3 // 2 + 100_000_00,
            max_team_cents=max(t.budget_cents for t in teams),
        )
        for c in range(2)
    )
    changes = tuple(
        sorted(
            (_agent_change(rng, agents, k) for k in range(profile.agent_changes)),
            key=lambda change: change.at_fraction,
        )
    )
    return Workload(seed, profile, agents, calls, teams, changes)


def _split_count(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _agent_change(rng: random.Random, agents: tuple[AgentPlan, ...], k: int) -> AgentChange:
    agent = rng.choice(agents)
    return AgentChange(
        at_fraction=rng.uniform(0.05, 0.9),
        agent_id=agent.id,
        name=f"{agent.name} ({k})",
        email=f"{agent.id}.v{k}@example.org",
        webhook_path=f"/hooks/{agent.id}/v{k}",
    )


def _team(
    rng: random.Random, index: int, agents: tuple[AgentPlan, ...], expenses: int, *, calls: int
) -> TeamPlan:
    ref = f"t{index:03d}"
    budget = rng.randrange(20_000_00, 80_000_00)
    vat_deductible = rng.random() < 0.3
    prototype = rng.random() < 0.7
    final = prototype and rng.random() < 0.6
    withdraw = rng.random() < 0.12
    phases = [ACCEPTANCE] + (["prototype"] if prototype else []) + (["final"] if final else [])
    counts = _split_count(expenses, len(phases))
    book = TeamBook(budget)
    book.release(ACCEPTANCE)
    steps: list[Step] = []
    numbering = iter(range(10_000))
    done: list[str] = []
    for phase, count in zip(phases, counts, strict=True):
        if phase != ACCEPTANCE:
            # Money comes only with the milestones before it complete: those first.
            for key in PHASES[: PHASES.index(phase) + 1]:
                if key not in done:
                    done.append(key)
                    steps.append(Complete(key, by_agent=rng.random() < 0.5))
                    book.complete(key)
        last = phase == phases[-1]
        if count:
            steps.append(_spend(rng, ref, book, count, vat_deductible, numbering, last=last))
    if not prototype:
        # Milestones that release nothing, anywhere in the script.
        for key in ("kickoff", "workshop"):
            if rng.random() < (0.6 if key == "kickoff" else 0.4):
                at = rng.randrange(len(steps) + 1)
                steps.insert(at, Complete(key, by_agent=rng.random() < 0.5))
    if withdraw:
        steps.append(Withdraw("Das Unternehmen hat das Projekt beendet."))
    return TeamPlan(
        ref=ref,
        call=index % calls,
        agent_id=rng.choice(agents).id,
        budget_cents=budget,
        vat_deductible=vat_deductible,
        creatives=rng.choice((1, 2)),
        steps=tuple(steps),
    )


def _spend(
    rng: random.Random,
    ref: str,
    book: TeamBook,
    count: int,
    vat_deductible: bool,
    numbering: Iterator[int],
    *,
    last: bool,
) -> Spend:
    share = rng.uniform(0.7, 0.98) if last else rng.uniform(0.4, 0.9)
    total = book.available_cents * share
    weights = [rng.uniform(0.5, 1.5) for _ in range(count)]
    expenses = []
    for weight in weights:
        fundable = max(100, int(total * weight / sum(weights)))
        if vat_deductible:
            net, vat = fundable, fundable * 19 // 100
        else:
            net = fundable * 100 // 119
            vat = fundable - net
        decision: Decision = rng.choices(
            ("approve", "reject", "reverse", "pending"), weights=(60, 15, 10, 15)
        )[0]
        expenses.append(
            ExpensePlan(
                ref=f"{ref}-e{next(numbering):03d}",
                position=rng.choice(POSITIONS),
                net_cents=net,
                vat_cents=vat,
                fundable_cents=fundable,
                by_agent=rng.random() < 0.4,
                decision=decision,
                approver=rng.choice(FINANCE),
            )
        )
    for expense in expenses:
        book.submit(expense.fundable_cents)
    order = list(range(count))
    rng.shuffle(order)
    spend = Spend(tuple(expenses), tuple(order))
    apply_decisions(book, spend)
    return spend


def apply_decisions(book: TeamBook, spend: Spend) -> None:
    """The decisions of a batch in the order the runner makes them (shared with the oracle)."""
    for index in spend.decide_order:
        expense = spend.expenses[index]
        if expense.decision in ("approve", "reverse"):
            book.approve(expense.fundable_cents)
        elif expense.decision == "reject":
            book.reject(expense.fundable_cents)
    for expense in spend.expenses:
        if expense.decision == "reverse":
            book.reverse(expense.fundable_cents)
