"""Crafted input to notify gets a clear 4xx and changes nothing: cursors, ids, webhook URLs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.crafted import CONTROL_CHARACTERS, FORGED_CURSORS, NUL
from tests.api.notify.test_agents_api import ANNA, put_agent
from tests.support.service_app import RunningService


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(slug), body
    return body


@pytest.mark.parametrize("path", ["/api/v1/agents", "/api/v1/notifications"])
@pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
async def test_a_forged_cursor_is_400(notify: RunningService, path: str, cursor: str) -> None:
    response = await notify.client.get(
        path, params={"cursor": cursor}, headers=notify.auth("staff")
    )
    assert_problem(response, 400, "invalid-cursor")


class TestWebhookUrls:
    @pytest.mark.parametrize(
        ("url", "why"),
        [
            ("https://127.0.0.1/hook", "internal"),
            ("https://localhost/hook", "internal"),
            ("https://[::1]:8443/hook", "internal"),
            ("https://10.0.0.5/hook", "internal"),
            ("https://192.168.1.10/hook", "internal"),
            ("https://169.254.169.254/latest/meta-data/", "metadata"),
            ("https://[fd00:ec2::254]/", "metadata"),
            ("https://[fe80::1]/hook", "internal"),
            ("https://[fc00::1]/hook", "internal"),
            ("https://224.0.0.1/hook", "internal"),
            ("https://0.0.0.0/hook", "internal"),
            ("https://[::ffff:127.0.0.1]/hook", "internal"),
            ("https://2130706433/hook", "internal"),
            ("https://intern.example.org/hook", "internal"),
            ("https://rebound.example.org/hook", "internal"),
            ("https://metadata.example.org/hook", "metadata"),
            ("https://nowhere.example.org/hook", "does not resolve"),
            ("http://chat.example.org/hooks/anna", "https"),
        ],
    )
    async def test_a_webhook_to_a_refused_address_is_422_and_changes_nothing(
        self, notify: RunningService, url: str, why: str
    ) -> None:
        await put_agent(notify, "agent-walter", ANNA)

        response = await put_agent(notify, "agent-walter", ANNA | {"webhook_url": url})

        body = assert_problem(response, 422, "webhook-not-allowed")
        assert why in body["detail"]
        stored = await notify.client.get(
            "/api/v1/agents/agent-walter", headers=notify.auth("staff")
        )
        assert stored.json()["webhook_url"] == ANNA["webhook_url"]

    async def test_the_refusal_does_not_name_the_resolved_address(
        self, notify: RunningService
    ) -> None:
        response = await put_agent(
            notify, "agent-walter", ANNA | {"webhook_url": "https://intern.example.org/h"}
        )
        assert "10.0.0.5" not in response.text

    @pytest.mark.parametrize(
        "url",
        [
            "https://chat.example.org/hooks/anna?token=abc",
            "https://hooks.intern.example/anna",
            "http://hooks.intern.example:8080/anna",
        ],
    )
    async def test_public_https_and_allow_listed_receivers_are_admitted(
        self, notify: RunningService, url: str
    ) -> None:
        response = await put_agent(notify, "agent-xaver", ANNA | {"webhook_url": url})
        assert response.status_code == 200, response.text
        assert response.json()["webhook_url"] == url

    @pytest.mark.parametrize("char", ["\t", "\n", NUL])
    async def test_control_characters_in_a_webhook_url_are_422(
        self, notify: RunningService, char: str
    ) -> None:
        response = await put_agent(
            notify, "agent-xaver", ANNA | {"webhook_url": f"https://chat.exa{char}mple.org/h"}
        )
        assert_problem(response, 422, "validation-error")


class TestTextAndIds:
    @pytest.mark.parametrize("char", CONTROL_CHARACTERS)
    @pytest.mark.parametrize("field", ["name", "email"])
    async def test_control_characters_in_a_profile_are_422(
        self, notify: RunningService, char: str, field: str
    ) -> None:
        value = f"Anna{char}Berger" if field == "name" else f"anna{char}@example.org"
        response = await put_agent(notify, "agent-yvonne", ANNA | {field: value})
        assert_problem(response, 422, "validation-error")
        missing = await notify.client.get(
            "/api/v1/agents/agent-yvonne", headers=notify.auth("staff")
        )
        assert missing.status_code == 404

    @pytest.mark.parametrize("start", ["٠٧:٠٠", "０７:００"])
    async def test_quiet_hours_in_other_digits_are_422(
        self, notify: RunningService, start: str
    ) -> None:
        response = await put_agent(
            notify, "agent-yvonne", ANNA | {"quiet_hours": {"start": start, "end": "20:00"}}
        )
        assert_problem(response, 422, "validation-error")

    async def test_an_agent_id_in_any_case_is_one_agent(self, notify: RunningService) -> None:
        response = await put_agent(notify, "Agent-Zora", ANNA)
        assert response.json()["id"] == "agent-zora"
        fetched = await notify.client.get("/api/v1/agents/AGENT-ZORA", headers=notify.auth("staff"))
        assert fetched.status_code == 200
        assert fetched.json()["id"] == "agent-zora"

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/notifications/" + "n" * 10_000,
            "/api/v1/agents/" + "a" * 10_000,
            "/api/v1/notifications/a%00b",
        ],
    )
    async def test_an_absurd_path_id_is_422(self, notify: RunningService, path: str) -> None:
        response = await notify.client.get(path, headers=notify.auth("staff"))
        body = assert_problem(response, 422, "validation-error")
        assert len(body["detail"]) < 300

    async def test_an_absurd_agent_filter_is_422(self, notify: RunningService) -> None:
        response = await notify.client.get(
            "/api/v1/notifications", params={"agent_id": f"a{NUL}"}, headers=notify.auth("staff")
        )
        assert_problem(response, 422, "validation-error")
