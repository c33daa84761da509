"""The fault proof, short profile: kills, a broker restart, a rebalance and poison change nothing.

The whole platform runs as real processes on Kafka and PostgreSQL while a seeded workload goes
through the admin APIs; afterwards every amount, expense, alert and dead letter is compared with
an oracle computed from the workload alone. ``CIMIS_CHAOS_SEED`` replays another seed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cimis_devtools.chaos.faults import poison_kinds
from cimis_devtools.chaos.report import render
from cimis_devtools.chaos.run import run

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.postgres,
    pytest.mark.reliability,
    pytest.mark.slow,
]

SEED = int(os.environ.get("CIMIS_CHAOS_SEED", "20260301"))


async def test_the_short_chaos_run_ends_with_no_differences_from_the_oracle(
    tmp_path: Path,
) -> None:
    result = await run(SEED, "short", poison_kinds(None), tmp_path / "chaos")

    print(render(result))
    assert result.differences == []
