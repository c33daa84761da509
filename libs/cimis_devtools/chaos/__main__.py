"""``python -m cimis_devtools.chaos``: the fault proof; exit code 0 only without differences."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
from pathlib import Path

from cimis_devtools.chaos.faults import poison_kinds
from cimis_devtools.chaos.poison import KINDS
from cimis_devtools.chaos.profiles import PROFILES
from cimis_devtools.chaos.report import render
from cimis_devtools.chaos.run import default_workdir, run


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m cimis_devtools.chaos",
        description="Run the platform under kills, broker restarts, rebalances and poison, "
        "then compare every figure with an oracle computed from the seeded workload.",
    )
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="short")
    parser.add_argument(
        "--poison",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="inject poison records (default: on)",
    )
    parser.add_argument(
        "--poison-kinds",
        default=None,
        help=f"comma-separated subset of: {', '.join(KINDS)} (default: all)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="logs and broker state")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    kinds = poison_kinds(args.poison_kinds) if args.poison else []
    workdir = (args.workdir or default_workdir(seed)).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=workdir / "chaos.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Their per-connection and per-request lines would drown the run's own.
    for noisy in ("mail.log", "httpx", "aiokafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    print(f"chaos run: seed {seed}, profile {args.profile}, workdir {workdir}", flush=True)
    try:
        result = asyncio.run(run(seed, args.profile, kinds, workdir))
    except KeyboardInterrupt:
        # run() stopped every process it started on its way out.
        print(f"interrupted; everything stopped (logs in {workdir})", flush=True)
        return 130
    print(render(result), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
