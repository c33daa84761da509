"""The HTTP edge every service shares: body limit, key check before parsing, rate limits, safe
ids, bounded error echoes, the documented security and problems, and docs without a CDN."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from cimis_chassis.api_keys import revoke_key
from cimis_chassis.auth import Role, create_key
from cimis_chassis.http_edge import CLIENT_ID_PATTERN
from cimis_chassis.problems import MAX_ECHO_CHARS, MAX_VALIDATION_ERRORS, PROBLEM_JSON
from cimis_cli.main import app as cli
from services.budget.bootstrap import create_app as create_budget
from services.budget.settings import BudgetSettings
from services.intake.bootstrap import create_app as create_intake
from services.intake.settings import IntakeSettings
from services.milestones.bootstrap import create_app as create_milestones
from services.milestones.settings import MilestonesSettings
from services.notify.bootstrap import create_app as create_notify
from services.notify.settings import NotifySettings
from tests.support.service_app import RunningService, running_service

PROBE = "/api/v1/edge-probe"
MANY = "/api/v1/edge-probe-many"


class EdgeSettings(IntakeSettings):
    # Small limits, so that each one is reached in a few requests.
    http_max_body_bytes: int = 256 * 1024
    http_rate_per_key_per_second: float = 0.01
    http_rate_burst_per_key: int = 30
    http_auth_failures_per_address: int = 3
    http_auth_block_seconds: float = 120.0


class Edge(RunningService):
    handled: list[Any]


@pytest.fixture(scope="module")
async def edge(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Edge]:
    async with running_service(
        create_intake,
        EdgeSettings,
        tmp_path=tmp_path_factory.mktemp("edge"),
    ) as service:
        handled: list[Any] = []

        async def probe(body: dict[str, Any]) -> dict[str, int]:
            handled.append(body)
            return {"fields": len(body)}

        async def many(body: list[int]) -> dict[str, int]:
            handled.append(body)
            return {"items": len(body)}

        # Routes that record whether a handler ran; kept out of the OpenAPI document.
        service.app.add_api_route(PROBE, probe, methods=["POST"], include_in_schema=False)
        service.app.add_api_route(MANY, many, methods=["POST"], include_in_schema=False)
        running = Edge(service.app, service.client, service.clock, service.keys)
        running.handled = handled
        yield running


def client_from(svc: RunningService, address: str) -> httpx.AsyncClient:
    """A client whose requests come from ``address`` (the limits count per address)."""
    transport = httpx.ASGITransport(app=svc.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://service")


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(slug)
    return body


class TestBodyLimit:
    async def test_a_declared_large_body_is_413_and_the_handler_never_runs(
        self, edge: Edge
    ) -> None:
        before = len(edge.handled)
        body = json.dumps({"padding": "x" * (300 * 1024)})
        response = await edge.client.post(
            PROBE, content=body, headers=edge.auth("admin") | {"content-type": "application/json"}
        )
        assert response.request.headers["content-length"] == str(len(body))
        problem = assert_problem(response, 413, "content-too-large")
        assert str(256 * 1024) in problem["detail"]
        assert response.headers["connection"] == "close"
        assert len(edge.handled) == before

    async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(self, edge: Edge) -> None:
        before = len(edge.handled)
        sent: list[int] = []
        chunk = b"x" * (16 * 1024)

        async def upload() -> AsyncIterator[bytes]:
            yield b'{"padding": "'
            for _ in range(64):  # 1 MiB, four times the limit
                sent.append(len(chunk))
                yield chunk
            yield b'"}'

        response = await edge.client.post(
            PROBE,
            content=upload(),
            headers=edge.auth("admin") | {"content-type": "application/json"},
        )
        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "content-too-large")
        assert len(edge.handled) == before
        # Refused as the limit was passed, not after reading the whole upload.
        assert sum(sent) <= 256 * 1024 + len(chunk)

    async def test_a_body_within_the_limit_reaches_the_handler(self, edge: Edge) -> None:
        response = await edge.client.post(
            PROBE, json={"padding": "x" * (200 * 1024)}, headers=edge.auth("admin")
        )
        assert response.status_code == 200, response.text
        assert edge.handled[-1].keys() == {"padding"}


class TestKeyCheckedFirst:
    async def test_a_bad_key_is_401_before_the_body_is_parsed(self, edge: Edge) -> None:
        async with client_from(edge, "10.1.0.1") as client:
            wrong = await client.post(
                "/api/v1/calls",
                content=b"{this is not JSON",
                headers={
                    "Authorization": "Bearer cimis_nope_nope",
                    "content-type": "application/json",
                },
            )
            missing = await client.post(
                PROBE, content=b"[[[", headers={"content-type": "application/json"}
            )
        for response in (wrong, missing):
            assert_problem(response, 401, "unauthorized")
            assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_good_key_of_the_wrong_role_is_still_403_from_the_route(
        self, edge: Edge
    ) -> None:
        forbidden = await edge.client.post("/api/v1/teams/x/accept", headers=edge.auth("agent-ben"))
        assert_problem(forbidden, 403, "forbidden")

    async def test_public_paths_need_no_key(self, edge: Edge) -> None:
        async with client_from(edge, "10.1.0.2") as client:
            for path in ("/health/live", "/openapi.json", "/asyncapi.json", "/docs"):
                assert (await client.get(path)).status_code == 200, path


class TestKeysAtTheEdge:
    async def test_a_revoked_key_is_401(self, edge: Edge) -> None:
        keys_file = edge.host.settings.cimis_api_keys_file
        token = create_key(keys_file, role=Role.OPERATOR, principal="olga-revoked")
        headers = {"Authorization": f"Bearer {token}"}
        async with client_from(edge, "10.2.0.1") as client:
            assert (await client.get("/api/v1/teams/none", headers=headers)).status_code == 404
            revoke_key(keys_file, token.split("_")[1])
            problem = assert_problem(
                await client.get("/api/v1/teams/none", headers=headers), 401, "unauthorized"
            )
        assert "revoked" in problem["detail"]

    async def test_an_expired_key_is_401(self, edge: Edge) -> None:
        keys_file = edge.host.settings.cimis_api_keys_file
        token = create_key(
            keys_file, role=Role.OPERATOR, principal="olga-expiring", expires_in_days=1
        )
        headers = {"Authorization": f"Bearer {token}"}
        async with client_from(edge, "10.2.0.2") as client:
            assert (await client.get("/api/v1/teams/none", headers=headers)).status_code == 404
            _age_key(keys_file, token.split("_")[1], days=2)
            problem = assert_problem(
                await client.get("/api/v1/teams/none", headers=headers), 401, "unauthorized"
            )
        assert "expired" in problem["detail"]

    async def test_keys_list_shows_when_a_service_last_saw_a_key(self, edge: Edge) -> None:
        keys_file = edge.host.settings.cimis_api_keys_file
        used = create_key(keys_file, role=Role.OPERATOR, principal="olga-busy")
        unused = create_key(keys_file, role=Role.OPERATOR, principal="olga-idle")
        response = await edge.client.get(
            "/api/v1/teams/none", headers={"Authorization": f"Bearer {used}"}
        )
        assert response.status_code == 404

        listing = CliRunner().invoke(cli, ["keys", "list", "--keys-file", str(keys_file)])

        assert listing.exit_code == 0, listing.output
        rows = {line.split()[0]: line.split() for line in listing.stdout.splitlines()[1:]}
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        # id, role, principal, person, created (day, time), last used
        assert rows[used.split("_")[1]][6] == today
        assert rows[unused.split("_")[1]][6] == "never"


def _age_key(keys_file: Path, key_id: str, *, days: int) -> None:
    """Move a key's expiry into the past, as if ``days`` had gone by."""
    data = json.loads(keys_file.read_text())
    for entry in data["keys"]:
        if entry["id"] == key_id:
            expires_at = datetime.fromisoformat(entry["expires_at"]) - timedelta(days=days)
            entry["expires_at"] = expires_at.isoformat()
    tmp = keys_file.with_suffix(".edited")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, keys_file)


class TestRateLimits:
    async def test_a_key_over_its_rate_gets_429_with_retry_after(self, edge: Edge) -> None:
        headers = edge.auth("finance2")
        statuses = [
            (await edge.client.get("/api/v1/teams/none", headers=headers)).status_code
            for _ in range(EdgeSettings().http_rate_burst_per_key)
        ]
        assert set(statuses) == {404}

        response = await edge.client.get("/api/v1/teams/none", headers=headers)

        problem = assert_problem(response, 429, "too-many-requests")
        assert "rate limit" in problem["detail"]
        assert 1 <= int(response.headers["retry-after"]) <= 100
        other = await edge.client.get("/api/v1/teams/none", headers=edge.auth("finance"))
        assert other.status_code == 404

    async def test_an_address_with_repeated_401s_gets_429_even_with_a_good_key(
        self, edge: Edge
    ) -> None:
        bad = {"Authorization": "Bearer cimis_0000_guess"}
        async with client_from(edge, "10.3.0.1") as prober:
            for _ in range(EdgeSettings().http_auth_failures_per_address):
                assert (await prober.get("/api/v1/teams/none", headers=bad)).status_code == 401

            refused = await prober.get("/api/v1/teams/none", headers=edge.auth("operator"))
            still_public = await prober.get("/health/live")

        assert_problem(refused, 429, "too-many-requests")
        assert 100 <= int(refused.headers["retry-after"]) <= 120
        assert still_public.status_code == 200
        async with client_from(edge, "10.3.0.2") as neighbour:
            good = await neighbour.get("/api/v1/teams/none", headers=edge.auth("operator"))
        assert good.status_code == 404


class TestEchoes:
    async def test_a_hostile_request_id_is_replaced_not_echoed(self, edge: Edge) -> None:
        hostile = "<script>alert(1)</script>"
        response = await edge.client.get(
            "/health/live",
            headers={"X-Request-Id": hostile, "X-Correlation-Id": "x" * 101},
        )
        request_id = response.headers["x-request-id"]
        assert request_id != hostile
        assert re.fullmatch(CLIENT_ID_PATTERN, request_id)
        assert response.headers["x-correlation-id"] == request_id
        assert hostile not in response.text

    async def test_a_plain_request_id_is_kept(self, edge: Edge) -> None:
        response = await edge.client.get(
            "/health/live", headers={"X-Request-Id": "req-1.2:3_x", "X-Correlation-Id": "c-9"}
        )
        assert response.headers["x-request-id"] == "req-1.2:3_x"
        assert response.headers["x-correlation-id"] == "c-9"

    async def test_a_100_kb_value_comes_back_as_a_short_prefix_at_most(self, edge: Edge) -> None:
        huge = "1" * 100_000
        body = {
            "title": "CIMIS II",
            "districts": ["Chemnitz"],
            "opens_at": "2024-06-01",
            "closes_at": "2024-09-20",
            "total_budget": huge,
            "max_team_budget": "50000.00",
        }
        response = await edge.client.post("/api/v1/calls", json=body, headers=edge.auth("staff"))

        problem = assert_problem(response, 422, "validation-error")
        assert len(response.content) < 4000
        assert "1" * (MAX_ECHO_CHARS + 1) not in response.text
        assert all(len(error["message"]) <= MAX_ECHO_CHARS for error in problem["errors"])

    async def test_thousands_of_errors_are_listed_up_to_a_bound(self, edge: Edge) -> None:
        response = await edge.client.post(MANY, json=["x"] * 1000, headers=edge.auth("staff"))

        problem = assert_problem(response, 422, "validation-error")
        assert len(problem["errors"]) == MAX_VALIDATION_ERRORS
        assert problem["errors_omitted"] == 1000 - MAX_VALIDATION_ERRORS
        assert len(response.content) < 10_000


SERVICES: dict[str, tuple[Callable[..., FastAPI], type]] = {
    "intake": (create_intake, IntakeSettings),
    "budget": (create_budget, BudgetSettings),
    "milestones": (create_milestones, MilestonesSettings),
    "notify": (create_notify, NotifySettings),
}


def built_app(name: str, tmp_path: Path, **settings: Any) -> FastAPI:
    """The service's real app, not started: enough for its documents and docs pages."""
    create_app, settings_cls = SERVICES[name]
    keys_file = tmp_path / "api-keys.json"
    create_key(keys_file, role=Role.ADMIN, principal="admin")
    return create_app(
        settings_cls(
            database_url=f"sqlite:///{tmp_path / 'service.db'}",
            cimis_api_keys_file=keys_file,
            var_dir=tmp_path,
            consume_events=False,
            **settings,
        )
    )


PROBLEM_STATUSES = {"400", "401", "403", "404", "409", "413", "422", "429"}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_api_operation_documents_the_key_and_its_problems(
    service: str, tmp_path: Path
) -> None:
    document = built_app(service, tmp_path).openapi()

    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
    ]
    assert operations
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation["security"] == [{"bearerAuth": []}], where
        assert operation["responses"].keys() >= PROBLEM_STATUSES, where
        for status in PROBLEM_STATUSES:
            content = operation["responses"][status]["content"]
            assert content == {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (where, status)
        assert "Retry-After" in operation["responses"]["429"]["headers"]
    for path, item in document["paths"].items():
        if not path.startswith("/api/v1"):
            assert all("security" not in op for op in item.values()), path


def test_the_documented_header_limits_are_the_ones_the_code_applies(tmp_path: Path) -> None:
    document = built_app("intake", tmp_path).openapi()
    parameters = document["paths"]["/api/v1/calls"]["post"]["parameters"]
    [idempotency] = [p for p in parameters if p.get("name") == "Idempotency-Key"]
    assert (idempotency["schema"]["minLength"], idempotency["schema"]["maxLength"]) == (1, 200)
    request_id = document["components"]["parameters"]["RequestId"]
    # Any value is taken (one out of pattern is replaced, not refused): the pattern is told in
    # the description, not set as a constraint the request would have to meet.
    assert request_id["schema"] == {"type": "string"}
    assert CLIENT_ID_PATTERN in request_id["description"]
    assert {"$ref": "#/components/parameters/RequestId"} in parameters


async def test_docs_use_only_assets_the_service_serves(tmp_path: Path) -> None:
    app = built_app("budget", tmp_path)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://budget"
    ) as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            assert "http://" not in html, page
            assert "https://" not in html, page
            assets = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert assets, page
            for asset in assets:
                assert asset.startswith("/docs/assets/"), asset
                loaded = await client.get(asset)
                assert loaded.status_code == 200, asset
                assert len(loaded.content) > 1000, asset
            assert "/openapi.json" in html


async def test_docs_can_be_switched_off(tmp_path: Path) -> None:
    app = built_app("notify", tmp_path, http_docs_enabled=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://notify"
    ) as client:
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/redoc")).status_code == 404
        assert (await client.get("/docs/assets/swagger-ui.css")).status_code == 404
        assert (await client.get("/openapi.json")).status_code == 200


async def test_behind_a_root_path_the_key_is_still_checked_before_parsing(tmp_path: Path) -> None:
    app = built_app("intake", tmp_path)
    transport = httpx.ASGITransport(app=app, root_path="/intake")
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
        response = await client.post(
            "/intake/api/v1/calls",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
    assert_problem(response, 401, "unauthorized")


async def test_a_405_allows_every_method_of_the_path(tmp_path: Path) -> None:
    # Each operation is a route of its own: the Allow header must not name only the first.
    token = create_key(tmp_path / "api-keys.json", role=Role.ADMIN, principal="allow-probe")
    app = built_app("intake", tmp_path)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://intake"
    ) as client:
        response = await client.delete(
            "/api/v1/applications", headers={"Authorization": f"Bearer {token}"}
        )
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET, POST"
