"""helm for the chart tests: the one `make helm` builds into .tools/bin, else one on PATH.

Without helm the chart tests fail in CI (CI=true), where .ci/run builds it first, and are
skipped elsewhere with the command that builds it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cimis_devtools.chart_check import VARIANTS, Variant, find_helm, render

REPO_ROOT = Path(__file__).resolve().parents[2]
Objects = list[dict[str, Any]]


@pytest.fixture(scope="session")
def helm() -> Path:
    found = find_helm(REPO_ROOT)
    if found is None:
        message = "helm is not built: `make helm` builds it into .tools/bin (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def variants() -> dict[str, Variant]:
    return {variant.name: variant for variant in VARIANTS}


@pytest.fixture(scope="session")
def rendered(helm: Path, variants: dict[str, Variant]) -> Callable[[str], Objects]:
    """The objects of a variant, rendered once per session."""
    cache: dict[str, Objects] = {}

    def objects(name: str) -> Objects:
        if name not in cache:
            cache[name] = render(helm, REPO_ROOT, variants[name])
        return cache[name]

    return objects
