"""Drives the workload through the admin APIs: one sequential script per team, many at once."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cimis_devtools.chaos.client import Api, CommandFailed
from cimis_devtools.chaos.platform import Platform
from cimis_devtools.chaos.workload import (
    CONFIRMING_STAFF,
    STAFF,
    AgentPlan,
    Complete,
    ExpensePlan,
    Spend,
    TeamPlan,
    Withdraw,
    Workload,
)
from cimis_devtools.identifiers import vat_id

log = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
DISTRICTS = ["Erzgebirgskreis", "Chemnitz", "Zwickau"]
WAIT_SECONDS = 300.0


def eur(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class Runner:
    def __init__(self, workload: Workload, platform: Platform, api: Api) -> None:
        self.workload = workload
        self.platform = platform
        self.api = api
        self.call_ids: dict[str, str] = {}
        self.team_ids: dict[str, str] = {}
        self.expense_ids: dict[str, str] = {}
        self.failures: list[str] = []
        self.finished = asyncio.Event()
        self._planned = workload.planned_commands()
        self._moved = asyncio.Condition()
        api.on_command = self._tick

    @property
    def progress(self) -> float:
        """Share of the planned commands sent so far: faults are scheduled against it."""
        return self.api.tally.commands / self._planned

    async def _tick(self) -> None:
        async with self._moved:
            self._moved.notify_all()

    async def reached(self, fraction: float) -> None:
        """Wait until ``fraction`` of the planned commands were sent, or the workload ended."""
        async with self._moved:
            await self._moved.wait_for(lambda: self.progress >= fraction or self.finished.is_set())

    def key(self, what: str) -> str:
        return f"chaos-{self.workload.seed}-{what}"

    async def run(self) -> None:
        try:
            for agent in self.workload.agents:
                await self._put_agent(
                    agent, agent.name, f"{agent.id}@example.org", "/hooks/" + agent.id
                )
            for call in self.workload.calls:
                await self._open_call(call.ref, call.total_cents, call.max_team_cents)
            gate = asyncio.Semaphore(self.workload.profile.concurrency)

            async def guarded(team: TeamPlan) -> None:
                async with gate:
                    try:
                        await self._team(team)
                    except CommandFailed as exc:
                        self.failures.append(f"team {team.ref}: {exc}")

            await asyncio.gather(
                self._agent_changes(), *(guarded(team) for team in self.workload.teams)
            )
        finally:
            self.finished.set()
            await self._tick()

    async def _put_agent(self, agent: AgentPlan, name: str, email: str, path: str) -> None:
        # No weekly digest: what the oracle counts are the alerts the workload raises.
        body: dict[str, Any] = {"name": name, "email": email, "digest": None}
        if agent.webhook:
            body["webhook_url"] = self.platform.webhooks.url(path)
        await self.api.command(
            "notify", "PUT", f"/api/v1/agents/{agent.id}", principal=STAFF, body=body
        )

    async def _agent_changes(self) -> None:
        for change in self.workload.agent_changes:
            await self.reached(change.at_fraction)
            agent = self.workload.agent(change.agent_id)
            try:
                await self._put_agent(agent, change.name, change.email, change.webhook_path)
            except CommandFailed as exc:
                self.failures.append(f"agent {agent.id}: {exc}")

    async def _open_call(self, ref: str, total_cents: int, max_team_cents: int) -> None:
        now = datetime.now(UTC)
        body = {
            "title": f"Chaos {self.workload.seed} {ref}",
            "districts": DISTRICTS,
            "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=60)).isoformat(),
            "total_budget": eur(total_cents),
            "max_team_budget": eur(max_team_cents),
        }
        answer = await self.api.command(
            "intake", "POST", "/api/v1/calls", principal=STAFF, body=body, key=self.key(ref)
        )
        self.call_ids[ref] = str(answer["id"])

    async def _team(self, team: TeamPlan) -> None:
        call_id = self.call_ids[self.workload.calls[team.call].ref]
        company = await self._apply(team, call_id, "company", 0)
        creatives = [await self._apply(team, call_id, "creative", n) for n in range(team.creatives)]
        proposed = await self.api.command(
            "intake",
            "POST",
            "/api/v1/teams",
            principal=STAFF,
            key=self.key(f"{team.ref}-team"),
            # Intake learns the agents from notify's events: until then it does not know them.
            wait_on=("unknown-agent",),
            body={
                "call_id": call_id,
                "title": f"Team {team.ref}",
                "challenge": "Digitale Terminbuchung für die Werkstatt",
                "company_application_id": company,
                "creative_application_ids": creatives,
                "agent_id": team.agent_id,
                "budget": eur(team.budget_cents),
                "input_vat_deductible": team.vat_deductible,
            },
        )
        team_id = str(proposed["id"])
        self.team_ids[team.ref] = team_id
        await self.api.command("intake", "POST", f"/api/v1/teams/{team_id}/accept", principal=STAFF)
        await self.wait_for_budget(team_id, "acceptance")
        for step in team.steps:
            if isinstance(step, Spend):
                await self._spend(team, team_id, step)
            elif isinstance(step, Complete):
                await self._complete(team, team_id, step)
            elif isinstance(step, Withdraw):
                await self.api.command(
                    "intake",
                    "POST",
                    f"/api/v1/teams/{team_id}/withdraw",
                    principal=STAFF,
                    body={"reason": step.reason},
                )

    async def _apply(self, team: TeamPlan, call_id: str, kind: str, n: int) -> str:
        body: dict[str, Any] = {
            "call_id": call_id,
            "kind": kind,
            "name": f"{kind.title()} {team.ref}-{n}",
            "contact_email": f"{team.ref}.{kind}{n}@example.org",
            "district": DISTRICTS[n % len(DISTRICTS)],
        }
        if kind == "company":
            body.update(
                employees=12,
                annual_turnover="1500000.00",
                de_minimis_prior_aid="0.00",
                challenge="Terminbuchung und Lagerhaltung digitalisieren",
                # One undertaking per team: the workload never pools a company's teams.
                undertaking_id=vat_id(int(team.ref.lstrip("t")) + 1),
            )
        else:
            body["expertise"] = "Service-Design"
        answer = await self.api.command(
            "intake",
            "POST",
            "/api/v1/applications",
            principal=STAFF,
            body=body,
            key=self.key(f"{team.ref}-{kind}-{n}"),
        )
        if answer.get("status") != "submitted":
            raise CommandFailed(f"application {team.ref}-{kind}-{n} not eligible: {answer}")
        return str(answer["id"])

    async def _spend(self, team: TeamPlan, team_id: str, spend: Spend) -> None:
        for expense in spend.expenses:
            await self._submit(team, team_id, expense)
        for index in spend.decide_order:
            expense = spend.expenses[index]
            if expense.decision in ("approve", "reverse"):
                await self._decide(expense, "approve", expense.approver, None)
            elif expense.decision == "reject":
                await self._decide(expense, "reject", expense.approver, "Beleg unleserlich")
        for expense in spend.expenses:
            if expense.decision == "reverse":
                await self._decide(expense, "reverse", expense.reverser, "Doppelt abgerechnet")

    async def _submit(self, team: TeamPlan, team_id: str, expense: ExpensePlan) -> None:
        today = datetime.now(BERLIN).date()
        answer = await self.api.command(
            "budget",
            "POST",
            f"/api/v1/teams/{team_id}/expenses",
            principal=team.agent_id if expense.by_agent else STAFF,
            key=self.key(expense.ref),
            wait_on=(404,),
            body={
                "position": expense.position,
                "net": eur(expense.net_cents),
                "vat": eur(expense.vat_cents),
                "receipt_number": expense.ref,
                # The teams are accepted during the run: costs count from that day on.
                "receipt_date": today.isoformat(),
                "payee": "Werkstatt Müller GmbH",
                "purpose": "Prototyp-Material",
            },
        )
        self.expense_ids[expense.ref] = str(answer["id"])

    async def _decide(self, expense: ExpensePlan, verb: str, by: str, reason: str | None) -> None:
        await self.api.command(
            "budget",
            "POST",
            f"/api/v1/expenses/{self.expense_ids[expense.ref]}/{verb}",
            principal=by,
            key=self.key(f"{expense.ref}-{verb}"),
            body=None if reason is None else {"reason": reason},
        )

    async def _complete(self, team: TeamPlan, team_id: str, step: Complete) -> None:
        plan = await self.wait_for_plan(team_id)
        [milestone] = [m for m in plan["items"] if m["key"] == step.key]
        await self.api.command(
            "milestones",
            "POST",
            f"/api/v1/milestones/{milestone['id']}/complete",
            principal=team.agent_id if step.by_agent else STAFF,
            key=self.key(f"{team.ref}-{step.key}"),
            body={"note": f"{step.key} erledigt"},
        )
        # Four eyes: only another staff member's confirmation completes it.
        await self.api.command(
            "milestones",
            "POST",
            f"/api/v1/milestones/{milestone['id']}/confirm",
            principal=CONFIRMING_STAFF,
            key=self.key(f"{team.ref}-{step.key}-confirm"),
        )
        if step.key in ("prototype", "final"):
            # Spending beyond a tranche, and a withdrawal, must wait until budget released it.
            await self.wait_for_budget(team_id, step.key)

    async def wait_for_plan(self, team_id: str) -> dict[str, Any]:
        """The team's plan once it runs: milestones hears of the allocation from budget's topic
        and may do so after budget shows it (409 plan-not-active until then)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            plan = await self.api.request(
                "milestones",
                "GET",
                f"/api/v1/teams/{team_id}/milestones",
                principal=STAFF,
                wait_on=(404,),
            )
            if plan["plan_status"] != "pending_budget":
                return plan
            if time.monotonic() >= deadline:
                raise CommandFailed(f"team {team_id}: plan never started: {plan}")
            await asyncio.sleep(0.3)

    async def wait_for_budget(self, team_id: str, trigger: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            budget = await self.api.request(
                "budget", "GET", f"/api/v1/teams/{team_id}/budget", principal=STAFF, wait_on=(404,)
            )
            if budget["status"] == "allocated" and trigger in budget["released_tranches"]:
                return
            if budget["status"] not in ("allocated", "awaiting_call"):
                raise CommandFailed(f"team {team_id}: budget {budget['status']}: {budget}")
            if time.monotonic() >= deadline:
                raise CommandFailed(f"team {team_id}: tranche {trigger} not released: {budget}")
            await asyncio.sleep(0.3)
