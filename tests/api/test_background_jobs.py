"""A background job that stops on its own makes the service report itself not ready."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from cimis_chassis.auth import Role, create_key
from services.budget.bootstrap import create_app
from services.budget.settings import BudgetSettings


async def test_a_crashed_background_job_fails_readiness(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    create_key(keys, role=Role.OPERATOR, principal="olga")
    app = create_app(
        BudgetSettings(
            database_url=f"sqlite:///{tmp_path / 'budget.db'}",
            cimis_api_keys_file=keys,
            consume_events=False,
            publish_events=False,
        )
    )

    async def doomed_job() -> None:
        raise RuntimeError("the job broke")

    app.state.host.background.append(doomed_job)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://budget") as client:
            async with asyncio.timeout(10):
                while not app.state.host.stopped_jobs:
                    await asyncio.sleep(0.05)
            response = await client.get("/health/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert "doomed_job" in checks["background_jobs"]
    assert checks["database"] == "ok"
    # Without Kafka (consuming and publishing switched off) there is no broker to check.
    assert set(checks) == {"database", "background_jobs"}
