"""Test-suite wiring: infrastructure fixtures and the custom markers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

# Lets the suite run from a plain checkout before the project is pip-installed; a no-op once
# `cimis_devtools` is importable (installed, or pytest's `pythonpath` covers libs/).
_LIBS = Path(__file__).resolve().parents[1] / "libs"
if importlib.util.find_spec("cimis_devtools") is None and str(_LIBS) not in sys.path:
    sys.path.insert(0, str(_LIBS))

# The module name depends on whether tests/ is a package (rootdir-relative import) or not.
_PACKAGE = __name__.rpartition(".")[0]
pytest_plugins = [f"{_PACKAGE}.fixtures_infra" if _PACKAGE else "fixtures_infra"]

MARKERS = {
    "kafka": "needs a Kafka broker (fixture kafka_bootstrap or kafka_broker_process)",
    "postgres": "needs PostgreSQL (fixture postgres_url or local_postgres)",
    "slow": "takes more than a few seconds",
    "reliability": "restarts or kills infrastructure to test recovery",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
