"""Every variant passes helm lint, and every object of a Kubernetes kind is valid against the
Kubernetes schemas (offline); only the operators' own kinds are left out, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cimis_devtools.chart_check import (
    OPERATOR_KINDS,
    VARIANTS,
    Variant,
    is_operator_kind,
    lint,
    render,
    stale_files,
    validate,
)
from tests.deploy.support import REPO_ROOT

CORE_KINDS = {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "Job"}
# The variants that name a Secret of the operator's instead of making one.
EXISTING_SECRET = {"external", "external-keda"}


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS, ids=[variant.name for variant in VARIANTS])
def test_the_variant_lints_and_its_objects_are_valid_kubernetes(
    helm: Path, variant: Variant
) -> None:
    lint(helm, REPO_ROOT, variant)
    objects = render(helm, REPO_ROOT, variant)

    result = validate(objects)

    assert not result.errors
    validated = {kind.split(" ")[0] for kind in result.validated}
    assert validated >= CORE_KINDS | ({"Secret"} if variant.name not in EXISTING_SECRET else set())
    assert sum(result.validated.values()) + sum(result.skipped.values()) == len(objects)
    skipped = [obj for obj in objects if is_operator_kind(obj)]
    assert len(skipped) == sum(result.skipped.values())


def test_an_invalid_object_is_reported_and_an_unknown_kind_is_not_skipped() -> None:
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "broken"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    misspelt = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "misspelt"},
        "spec": {"ports": [{"port": 80, "protocl": "TCP"}]},
    }
    unknown = {"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    operator = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {}}

    result = validate([broken, misspelt, unknown, operator], versions=["1.37.0"])

    [deployment, service, gadget] = result.errors
    assert deployment.startswith("Deployment/broken (1.37.0)")
    # Strict: a field the schema does not know is an error, not ignored.
    assert "'protocl' was unexpected" in service
    assert "no Kubernetes 1.37.0 schema for Gadget" in gadget
    assert sum(result.validated.values()) == 0
    assert sum(result.skipped.values()) == 1
    assert set(OPERATOR_KINDS["keda.sh"]) == {"ScaledObject", "TriggerAuthentication"}


def test_what_the_chart_keeps_from_elsewhere_matches_its_source() -> None:
    assert stale_files(REPO_ROOT) == []
