"""The AsyncAPI documents in docs/asyncapi/ are what the services generate (no drift)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cimis_cli.platform import asyncapi_yaml

DOCS = Path(__file__).parents[3] / "docs" / "asyncapi"


@pytest.mark.parametrize("service", sorted(p.stem for p in DOCS.glob("*.yaml")))
def test_the_kept_document_matches_the_code(service: str) -> None:
    kept = (DOCS / f"{service}.yaml").read_text()
    assert asyncapi_yaml(service) == kept, (
        f"docs/asyncapi/{service}.yaml is stale: run "
        f"'.venv/bin/cimis asyncapi {service} --output docs/asyncapi/{service}.yaml'"
    )


def test_intake_documents_each_event_it_publishes() -> None:
    schemas = yaml.safe_load((DOCS / "intake.yaml").read_text())["components"]["schemas"]
    assert {"CallOpenedEvent", "TeamAcceptedEvent", "TeamWithdrawnEvent"} <= set(schemas)
