"""What `make compose-check` asks of the running compose stack: waiting until each part is
ready, then one funding story through all of it.

    python deploy/compose-ci/scenario.py wait-tcp kafka=127.0.0.1:9092 postgres=127.0.0.1:5432
    python deploy/compose-ci/scenario.py wait-http http://127.0.0.1:8001/health/ready ...
    python deploy/compose-ci/scenario.py play --key-file var/compose-ci/admin-api-key.txt

`play` registers an agent (notify), opens a call, takes in a company and a creative, forms a
team and accepts it (intake), then waits for the allocation (budget), the activated plan
(milestones), the agent's mail in the SMTP sink (Mailpit's message API) and every service's
metrics in Prometheus. It prints how long each step took; any failure exits non-zero.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

INTAKE = "http://127.0.0.1:8001/api/v1"
BUDGET = "http://127.0.0.1:8002/api/v1"
MILESTONES = "http://127.0.0.1:8003/api/v1"
NOTIFY = "http://127.0.0.1:8004/api/v1"
MAIL = "http://127.0.0.1:8025/api/v1"
PROMETHEUS = "http://127.0.0.1:9090/api/v1"
SERVICES = ("intake", "budget", "milestones", "notify", "outcomes")

AGENT_ID = "agent-ci"
AGENT_EMAIL = "anna.berger@example.org"
TEAM_TITLE = "Möbel-Konfigurator"
TEAM_BUDGET = "45000.00"


class ScenarioFailed(RuntimeError):
    """The stack did not do what the step expects; the message says what it saw."""


def eventually(what: str, probe: Callable[[], T | None], timeout_seconds: float) -> T:
    """Call ``probe`` until it returns something other than None; fail after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    last_error = "no answer yet"
    while True:
        try:
            result = probe()
        except (httpx.HTTPError, OSError, ScenarioFailed) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            if result is not None:
                return result
        if time.monotonic() >= deadline:
            raise ScenarioFailed(f"{what}: not within {timeout_seconds:.0f}s ({last_error})")
        time.sleep(0.5)


def wait_tcp(targets: list[str], timeout_seconds: float) -> None:
    started = time.monotonic()
    for target in targets:
        name, _, address = target.rpartition("=")
        host, _, port = address.rpartition(":")

        def connects(host: str = host, port: str = port) -> bool | None:
            with socket.create_connection((host, int(port)), timeout=2):
                return True

        eventually(f"{name or address} accepting connections", connects, timeout_seconds)
        print(
            f"[compose-check] {name or address} accepts connections on {address} "
            f"({time.monotonic() - started:.1f}s)"
        )


def wait_http(urls: list[str], timeout_seconds: float) -> None:
    started = time.monotonic()
    with httpx.Client(timeout=5) as client:
        for url in urls:

            def ready(url: str = url) -> bool | None:
                response = client.get(url)
                if response.status_code != 200:
                    raise ScenarioFailed(f"{response.status_code} {response.text[:300]}")
                return True

            eventually(f"{url} answering 200", ready, timeout_seconds)
            print(f"[compose-check] {url} 200 ({time.monotonic() - started:.1f}s)")


def _checked(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        raise ScenarioFailed(
            f"{response.request.method} {response.request.url} -> {response.status_code}: "
            f"{response.text[:500]}"
        )
    return response.json() if response.content else None


def play(key_file: Path, timeout_seconds: float) -> None:
    key = key_file.read_text().strip()
    client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10)
    started = time.monotonic()

    def step(text: str) -> None:
        print(f"[compose-check] scenario {time.monotonic() - started:5.1f}s  {text}")

    with client:
        _checked(
            client.put(
                f"{NOTIFY}/agents/{AGENT_ID}",
                json={"name": "Anna Berger", "salutation": "Frau", "email": AGENT_EMAIL},
            ),
            200,
        )
        step(f"notify: agent {AGENT_ID} registered")

        today = datetime.now(UTC).date()
        call = _checked(
            client.post(
                f"{INTAKE}/calls",
                json={
                    "title": "CIMIS compose check",
                    "districts": ["Erzgebirgskreis", "Chemnitz"],
                    "opens_at": (today - timedelta(days=30)).isoformat(),
                    "closes_at": (today + timedelta(days=365)).isoformat(),
                    "total_budget": "500000.00",
                    "max_team_budget": "50000.00",
                },
            ),
            201,
        )
        step(f"intake: call {call['id']} opened")

        company = _checked(
            client.post(
                f"{INTAKE}/applications",
                json={
                    "call_id": call["id"],
                    "kind": "company",
                    "name": "Holzwerk Annaberg GmbH",
                    "contact_email": "info@holzwerk.example",
                    "district": "Erzgebirgskreis",
                    "employees": 35,
                    "annual_turnover": "4200000.00",
                    "de_minimis_prior_aid": "0.00",
                    "challenge": "Online-Konfigurator für Möbel",
                    "undertaking_id": "DE136695976",
                },
            ),
            201,
        )
        creative = _checked(
            client.post(
                f"{INTAKE}/applications",
                json={
                    "call_id": call["id"],
                    "kind": "creative",
                    "name": "Mia Krause",
                    "contact_email": "mia@example.org",
                    "district": "Chemnitz",
                    "expertise": "UX- und Service-Design",
                },
            ),
            201,
        )
        step("intake: a company and a creative applied")

        def form_team() -> dict[str, Any] | None:
            # Intake learns of the agent from notify's events a moment after the registration.
            response = client.post(
                f"{INTAKE}/teams",
                json={
                    "call_id": call["id"],
                    "title": TEAM_TITLE,
                    "challenge": "Online-Konfigurator",
                    "company_application_id": company["id"],
                    "creative_application_ids": [creative["id"]],
                    "agent_id": AGENT_ID,
                    "budget": TEAM_BUDGET,
                },
            )
            if response.status_code == 422 and "unknown-agent" in response.text:
                return None
            team: dict[str, Any] = _checked(response, 201)
            return team

        team = eventually("intake: a team with the registered agent", form_team, timeout_seconds)
        accepted = _checked(client.post(f"{INTAKE}/teams/{team['id']}/accept"), 200)
        if accepted["status"] != "accepted":
            raise ScenarioFailed(f"accepting the team answered {accepted}")
        step(f"intake: team {team['id']} formed and accepted")

        def allocation() -> dict[str, Any] | None:
            body = _checked(client.get(f"{BUDGET}/teams/{team['id']}/budget"), 200, 404)
            if body is None or body.get("status") != "allocated":
                return None
            if body["allocated"] != TEAM_BUDGET:
                raise ScenarioFailed(f"allocated {body['allocated']}, expected {TEAM_BUDGET}")
            result: dict[str, Any] = body
            return result

        budget = eventually("budget: the team's allocation", allocation, timeout_seconds)
        step(f"budget: {budget['allocated']} EUR allocated, {budget['released']} released")

        def plan() -> dict[str, Any] | None:
            body = _checked(client.get(f"{MILESTONES}/teams/{team['id']}/milestones"), 200, 404)
            if body is None or body.get("plan_status") != "active" or not body.get("items"):
                return None
            result: dict[str, Any] = body
            return result

        milestones = eventually("milestones: the team's active plan", plan, timeout_seconds)
        first = milestones["items"][0]
        step(
            f"milestones: plan active, {len(milestones['items'])} milestones, "
            f"first {first['key']} due {first['due_date']}"
        )

        def agents_mail() -> dict[str, Any] | None:
            listing = _checked(httpx.get(f"{MAIL}/messages", timeout=5), 200)
            for message in listing["messages"]:
                to = {recipient["Address"] for recipient in message["To"]}
                if AGENT_EMAIL in to and TEAM_TITLE in message["Subject"]:
                    found: dict[str, Any] = message
                    return found
            return None

        mail = eventually(
            "SMTP sink: the agent's mail about the team", agents_mail, timeout_seconds
        )
        step(f"mail sink: {mail['Subject']!r} to {AGENT_EMAIL}")

        def scraped() -> list[str] | None:
            body = _checked(httpx.get(f"{PROMETHEUS}/targets", timeout=5), 200)
            up = {
                target["labels"].get("service")
                for target in body["data"]["activeTargets"]
                if target["labels"].get("job") == "cimis" and target["health"] == "up"
            }
            return sorted(up) if up >= set(SERVICES) else None

        # The first scrape comes within one 15 s interval of Prometheus' start.
        services_up = eventually("Prometheus: every service scraped", scraped, 45)
        step(f"prometheus: {', '.join(services_up)} scraped and up")
    print(f"[compose-check] scenario passed in {time.monotonic() - started:.1f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    tcp = commands.add_parser("wait-tcp", help="wait until each NAME=HOST:PORT accepts")
    tcp.add_argument("targets", nargs="+")
    tcp.add_argument("--timeout", type=float, default=120)
    http = commands.add_parser("wait-http", help="wait until each URL answers 200")
    http.add_argument("urls", nargs="+")
    http.add_argument("--timeout", type=float, default=180)
    scenario = commands.add_parser("play", help="the funding story through the stack")
    scenario.add_argument("--key-file", type=Path, required=True)
    scenario.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)
    try:
        if args.command == "wait-tcp":
            wait_tcp(args.targets, args.timeout)
        elif args.command == "wait-http":
            wait_http(args.urls, args.timeout)
        else:
            play(args.key_file, args.timeout)
    except ScenarioFailed as exc:
        print(f"[compose-check] FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
