"""The public catalogue in a real browser (Debian's Chromium, headless, driven by Playwright):
search, open a blueprint, switch the language, and find a withdrawn blueprint gone.

The outcomes app serves real HTTP on 127.0.0.1; it is fed the platform's events through its
own consumer and reviewed through its admin API, as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect

from cimis_chassis.clock import ManualClock
from cimis_devtools.kafka_local import find_free_port
from services.outcomes.bootstrap import create_app
from services.outcomes.settings import OutcomesSettings
from tests.api.outcomes.conftest import BLUEPRINT, a_finished_team
from tests.support.service_app import START, RunningService, make_keys

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    message = "no Chromium on PATH: apt-get install chromium (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs it: a missing browser is a broken set-up there
    pytest.skip(message)


@dataclass
class Catalogue:
    service: RunningService
    base_url: str

    async def published(self, team_id: str, **body: object) -> str:
        await a_finished_team(self.service, team_id, **body.pop("team", {}))  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            created = await client.post(
                f"/api/v1/teams/{team_id}/blueprint",
                json=BLUEPRINT | body,
                headers=self.service.auth("agent-anna"),
            )
            assert created.status_code == 201, created.text
            blueprint_id: str = created.json()["id"]
            published = await client.post(
                f"/api/v1/blueprints/{blueprint_id}/publish", headers=self.service.auth("staff")
            )
            assert published.status_code == 200, published.text
        return blueprint_id

    async def withdraw(self, blueprint_id: str) -> None:
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            response = await client.post(
                f"/api/v1/blueprints/{blueprint_id}/withdraw",
                json={"reason": "Einwilligung widerrufen"},
                headers=self.service.auth("staff"),
            )
        assert response.status_code == 200, response.text


@pytest.fixture
async def catalogue(tmp_path: Path) -> AsyncIterator[Catalogue]:
    keys_file = tmp_path / "api-keys.json"
    keys = make_keys(keys_file)
    clock = ManualClock(START)
    settings = OutcomesSettings(
        database_url=f"sqlite:///{tmp_path / 'outcomes.db'}",
        cimis_api_keys_file=keys_file,
        var_dir=tmp_path,
        consume_events=False,  # fed by hand below, as the API tests do
        publish_events=False,
    )
    app = create_app(settings, clock)
    port = find_free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the outcomes server stopped before it started"
            await asyncio.sleep(0.05)
        base_url = f"http://127.0.0.1:{port}"
        client = httpx.AsyncClient(base_url=base_url)
        service = RunningService(app=app, client=client, clock=clock, keys=keys)
        yield Catalogue(service, base_url)
        await client.aclose()
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def test_search_open_switch_language_and_a_withdrawn_blueprint_is_gone(
    catalogue: Catalogue, browser: Browser
) -> None:
    werkstatt = await catalogue.published("team-w", title="Werkstattkalender")
    galerie = await catalogue.published(
        "team-g",
        title="Digitale Führungen",
        problem="Besucher fanden die Ausstellung nicht.",
        tools=["WordPress"],
        sector="Kultur",
        team={"district": "Görlitz", "district_code": "14626"},
    )
    page: Page = await browser.new_page()

    await page.goto(f"{catalogue.base_url}/katalog")
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Blaupausen-Katalog")
    await page.get_by_label("Suchbegriffe").fill("Ausstellung")
    await page.get_by_label("Landkreis oder kreisfreie Stadt").select_option(label="Görlitz")
    await page.get_by_role("button", name="Suchen").click()
    await expect(page.get_by_role("heading", level=2, name="1 Blaupausen gefunden")).to_be_visible()
    await expect(page.get_by_role("link", name="Werkstattkalender")).to_have_count(0)

    await page.get_by_role("link", name="Digitale Führungen").click()
    await expect(page).to_have_url(f"{catalogue.base_url}/katalog/{galerie}")
    await expect(page.get_by_role("heading", name="Was das Team gelernt hat")).to_be_visible()
    await expect(page.get_by_role("cell", name="12.000,00 €")).to_be_visible()
    await expect(page.get_by_text("Anna Berger")).to_be_visible()
    await expect(page.get_by_text("Uwe Roth")).to_have_count(0)  # no consent, never shown

    await page.get_by_role("link", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", name="What the team learned")).to_be_visible()
    await expect(page.get_by_role("cell", name="EUR 12,000.00")).to_be_visible()
    await page.get_by_role("link", name="Back to the catalogue").click()
    await expect(page.get_by_role("link", name="Werkstattkalender")).to_be_visible()
    await page.get_by_role("link", name="Deutsch").click()
    await expect(page.locator("html")).to_have_attribute("lang", "de")

    await catalogue.withdraw(galerie)
    gone = await page.goto(f"{catalogue.base_url}/katalog/{galerie}")
    assert gone is not None
    assert gone.status == 404
    await page.goto(f"{catalogue.base_url}/katalog")
    await expect(page.get_by_role("link", name="Digitale Führungen")).to_have_count(0)
    await expect(page.get_by_role("link", name="Werkstattkalender")).to_have_attribute(
        "href", f"/katalog/{werkstatt}"
    )
