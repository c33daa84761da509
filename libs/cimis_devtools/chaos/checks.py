"""The final comparison: what the services show against what the oracle says, one line per gap."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cimis_chassis.money import parse_eur
from cimis_contracts.topics import CONSUMES, dead_letter_topic
from cimis_devtools.chaos.broker_state import dead_letters
from cimis_devtools.chaos.client import Api
from cimis_devtools.chaos.oracle import STAFF_ALERTS, Expectation
from cimis_devtools.chaos.platform import Platform
from cimis_devtools.chaos.poison import Injected
from cimis_devtools.chaos.runner import Runner, eur
from cimis_devtools.chaos.workload import STAFF, Withdraw, Workload

# Every consuming service's dead-letter topic.
DLQS = tuple(dead_letter_topic(service) for service in CONSUMES)


@dataclass
class Findings:
    differences: list[str] = field(default_factory=list)
    mails: int = 0
    mail_copies: int = 0
    webhooks: int = 0
    webhook_copies: int = 0
    dead_letters: int = 0

    def differ(self, what: str, expected: object, actual: object) -> None:
        if expected != actual:
            self.differences.append(f"{what}: expected {expected}, got {actual}")


async def check(
    workload: Workload,
    expectation: Expectation,
    platform: Platform,
    runner: Runner,
    api: Api,
    injected: list[Injected],
) -> Findings:
    found = Findings()
    await _budgets(expectation, runner, api, found)
    await _calls(workload, expectation, runner, api, found)
    await _books(platform, found)
    await _intake(workload, runner, api, found)
    await _funder_report(workload, runner, api, found)
    await _milestones(expectation, runner, api, found)
    await _alerts(workload, expectation, platform, runner, found)
    await _dead_letters(platform, injected, found)
    return found


async def _get(api: Api, service: str, path: str) -> dict[str, Any]:
    return await api.request(service, "GET", path, principal="fin-a", deadline_seconds=120)


async def _budgets(expectation: Expectation, runner: Runner, api: Api, found: Findings) -> None:
    for ref, team in expectation.teams.items():
        team_id = runner.team_ids.get(ref)
        if team_id is None:
            found.differences.append(f"team {ref}: never created")
            continue
        budget = await _get(api, "budget", f"/api/v1/teams/{team_id}/budget")
        found.differ(f"team {ref} budget status", team.status, budget["status"])
        for name in ("allocated", "released", "pending", "approved", "available"):
            expected = eur(getattr(team, f"{name}_cents"))
            found.differ(f"team {ref} {name}", expected, budget[name])
        expenses = (await _get(api, "budget", f"/api/v1/teams/{team_id}/expenses"))["items"]
        found.differ(
            f"team {ref} expenses",
            dict(team.expenses),
            dict(Counter(e["status"] for e in expenses)),
        )
        mine = {runner.expense_ids[r] for r in runner.expense_ids if r.startswith(f"{ref}-")}
        unknown = {e["id"] for e in expenses} - mine
        if unknown:
            found.differences.append(f"team {ref}: {len(unknown)} expenses no command created")


async def _calls(
    workload: Workload, expectation: Expectation, runner: Runner, api: Api, found: Findings
) -> None:
    for ref, call in expectation.calls.items():
        call_id = runner.call_ids.get(ref)
        if call_id is None:
            found.differences.append(f"{ref}: never opened")
            continue
        pot = await _get(api, "budget", f"/api/v1/calls/{call_id}/budget")
        for name in ("total", "allocated", "available", "spent", "pending"):
            found.differ(f"{ref} {name}", eur(getattr(call, f"{name}_cents")), pot[name])


async def _books(platform: Platform, found: Findings) -> None:
    # Imported here: the budget service's code is only needed for this one check.
    from services.budget.entrypoints.reconcile import reconcile_database

    result = await reconcile_database(platform.postgres.url_for("budget"))
    found.differences.extend(f"books: {problem}" for problem in result.problems)
    found.differ("books imbalance (cents)", 0, result.imbalance_cents)


async def _pages(api: Api, service: str, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        page = await api.request(service, "GET", f"{path}&limit=200{suffix}", principal=STAFF)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def _intake(workload: Workload, runner: Runner, api: Api, found: Findings) -> None:
    for index, call in enumerate(workload.calls):
        call_id = runner.call_ids.get(call.ref)
        if call_id is None:
            continue
        members = [t for t in workload.teams if t.call == index]
        teams = await _pages(api, "intake", f"/api/v1/teams?call_id={call_id}")
        withdrawn = sum(1 for t in members if any(isinstance(s, Withdraw) for s in t.steps))
        statuses = Counter(accepted=len(members) - withdrawn, withdrawn=withdrawn)
        found.differ(
            f"{call.ref} teams by status",
            dict(+statuses),
            dict(Counter(t["status"] for t in teams)),
        )
        applications = await _pages(api, "intake", f"/api/v1/applications?call_id={call_id}")
        found.differ(
            f"{call.ref} applications", sum(1 + t.creatives for t in members), len(applications)
        )


async def _funder_report(workload: Workload, runner: Runner, api: Api, found: Findings) -> None:
    """Outcomes' report, drawn from events only, against intake's and budget's own figures:
    every count equal, every amount equal to the cent, whatever the faults did in between."""
    for call in workload.calls:
        call_id = runner.call_ids.get(call.ref)
        if call_id is None:
            continue
        report = await _get(api, "outcomes", f"/api/v1/calls/{call_id}/report")
        applications = await _pages(api, "intake", f"/api/v1/applications?call_id={call_id}")
        teams = await _pages(api, "intake", f"/api/v1/teams?call_id={call_id}")
        found.differ(
            f"{call.ref} report applications", len(applications), report["applications"]["total"]
        )
        found.differ(
            f"{call.ref} report applications by district, kind and eligibility",
            _applications_by_district(applications),
            {
                row["district_code"]: {
                    k: row[k] for k in ("company", "organisation", "creative", "eligible")
                }
                | {"ineligible": row["ineligible"]}
                for row in report["applications"]["by_district"]
            },
        )
        found.differ(
            f"{call.ref} report ineligibility reasons",
            dict(Counter(r["code"] for a in applications for r in a["eligibility"]["reasons"])),
            report["applications"]["ineligibility_reasons"],
        )
        found.differ(
            f"{call.ref} report teams",
            {
                "formed": len(teams),
                "accepted": sum(t["accepted_at"] is not None for t in teams),
                "withdrawn": sum(t["status"] == "withdrawn" for t in teams),
            },
            report["teams"],
        )
        budgets = [await _get(api, "budget", f"/api/v1/teams/{t['id']}/budget") for t in teams]
        sums: Counter[str] = Counter()
        lines: Counter[str] = Counter()
        for budget in budgets:
            for figure in ("allocated", "released", "approved", "paid", "returned"):
                sums[figure] += parse_eur(budget[figure])
            for line in budget["positions"]:
                lines[line["position"]] += parse_eur(line["approved"])
        money = report["budget"]
        found.differ(
            f"{call.ref} report money",
            {k: eur(sums[k]) for k in ("allocated", "released", "approved", "paid")}
            | {"unspent_returned": eur(sums["returned"])},
            {
                k: money[k]
                for k in ("allocated", "released", "approved", "paid", "unspent_returned")
            },
        )
        shown = Counter(
            m["status"]
            for m in await _pages(api, "milestones", f"/api/v1/milestones?call_id={call_id}")
        )
        counted = report["milestones"]
        found.differ(
            f"{call.ref} report milestones",
            {
                "completed": shown["completed"],
                "waived": shown["waived"],
                # A reported milestone waits for its confirmation: not done, so open or late.
                "not done": shown["open"] + shown["overdue"] + shown["reported"],
            },
            {
                "completed": counted["completed_on_time"] + counted["completed_late"],
                "waived": counted["waived"],
                "not done": counted["open"] + counted["overdue"],
            },
        )
        found.differ(
            f"{call.ref} report approved per line",
            {p: eur(c) for p, c in sorted(lines.items()) if c},
            {
                line["position"]: line["approved"]
                for line in sorted(money["lines"], key=lambda x: x["position"])
                if line["approved"] != "0.00"
            },
        )


def _applications_by_district(applications: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Intake's applications counted as the report counts them: per district, by kind and by
    eligibility."""
    rows: dict[str, Counter[str]] = {}
    for a in applications:
        row = rows.setdefault(a["district_code"], Counter())
        row[a["kind"]] += 1
        row["eligible" if a["eligibility"]["eligible"] else "ineligible"] += 1
    kinds = ("company", "organisation", "creative", "eligible", "ineligible")
    return {code: {k: row[k] for k in kinds} for code, row in rows.items()}


async def _milestones(expectation: Expectation, runner: Runner, api: Api, found: Findings) -> None:
    for ref, team in expectation.teams.items():
        team_id = runner.team_ids.get(ref)
        if team_id is None:
            continue
        plan = await _get(api, "milestones", f"/api/v1/teams/{team_id}/milestones")
        found.differ(f"team {ref} plan", team.plan_status, plan["plan_status"])
        completed = {m["key"] for m in plan["items"] if m["status"] == "completed"}
        found.differ(f"team {ref} completed milestones", sorted(team.completed), sorted(completed))


async def _alerts(
    workload: Workload,
    expectation: Expectation,
    platform: Platform,
    runner: Runner,
    found: Findings,
) -> None:
    refs = {team_id: ref for ref, team_id in runner.team_ids.items()}
    agent_of = {t.ref: t.agent_id for t in workload.teams}
    webhook = {a.id for a in workload.agents if a.webhook}
    expected: dict[tuple[str, str], int] = {}
    for ref, team in expectation.teams.items():
        for kind, count in team.alerts.items():
            expected[(ref, kind)] = count

    def keyed(pairs: list[tuple[str, str, str]]) -> dict[tuple[str, str], set[str]]:
        grouped: dict[tuple[str, str], set[str]] = {}
        for team_id, kind, ident in pairs:
            grouped.setdefault((refs.get(team_id, f"unknown team {team_id}"), kind), set()).add(
                ident
            )
        return grouped

    mails = keyed([(m.team_id, m.kind, m.message_id) for m in platform.mail.mails])
    posts = keyed([(p.team_id, p.kind, p.idempotency_key) for p in platform.webhooks.delivered])
    found.mails = sum(len(v) for v in mails.values())
    found.mail_copies = len(platform.mail.mails) - found.mails
    found.webhooks = sum(len(v) for v in posts.values())
    found.webhook_copies = len(platform.webhooks.delivered) - found.webhooks
    rows = await asyncio.to_thread(
        platform.query,
        "notify",
        "SELECT team_id, kind, recipient, count(*) FROM notifications GROUP BY 1, 2, 3",
    )
    inbox: dict[tuple[str, str], int] = {}
    for team_id, kind, recipient, count in rows:
        ref = refs.get(team_id, f"unknown team {team_id}")
        if recipient != ("staff" if kind in STAFF_ALERTS else agent_of.get(ref)):
            found.differences.append(f"alert {kind} of {ref} went to {recipient}")
        inbox[(ref, kind)] = inbox.get((ref, kind), 0) + int(count)
    for key in sorted(set(expected) | set(mails) | set(posts) | set(inbox)):
        ref, kind = key
        want = expected.get(key, 0)
        found.differ(f"team {ref} {kind} alerts in the inbox", want, inbox.get(key, 0))
        found.differ(f"team {ref} {kind} mails", want, len(mails.get(key, ())))
        hooked = want if agent_of.get(ref) in webhook and kind not in STAFF_ALERTS else 0
        found.differ(f"team {ref} {kind} webhooks", hooked, len(posts.get(key, ())))


async def _dead_letters(platform: Platform, injected: list[Injected], found: Findings) -> None:
    expected = Counter(
        (dlq, (i.topic, i.partition, i.offset)) for i in injected for dlq in i.dead_letter_topics()
    )
    kinds = {(i.topic, i.partition, i.offset): i.kind for i in injected}
    actual: Counter[tuple[str, tuple[str, int, int] | None]] = Counter()
    wanted: Counter[tuple[str, tuple[str, int, int] | None]] = Counter(expected)
    errors: dict[tuple[str, tuple[str, int, int] | None], str] = {}
    for dlq in DLQS:
        for letter in await dead_letters(platform.kafka_client, dlq):
            actual[(dlq, letter.origin)] += 1
            errors[(dlq, letter.origin)] = letter.error
    found.dead_letters = sum(actual.values())
    for key in sorted(set(wanted) | set(actual), key=str):
        dlq, origin = key
        what = kinds.get(origin, "a valid record") if origin else "no origin headers"
        if wanted[key] != actual[key]:
            found.differences.append(
                f"{dlq}: {what} from {origin}: expected {wanted[key]}, got {actual[key]}"
                + (f" ({errors[key][:120]})" if key in errors else "")
            )
