"""The handler-layer benchmark: the raw aiokafka ceiling and the budget pipeline against it.

Run with ``make bench`` or ``python -m benchmarks.bench [--events N] [--quick]``. Uses
``KAFKA_BOOTSTRAP_SERVERS`` when set (with the identity of ``KAFKA_CLIENT_CONFIG`` etc.),
otherwise starts a local SASL broker for the run; starts a local PostgreSQL when its
binaries are installed. Prints a table and writes the same figures as JSON to
``bench/results/<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.budget_run import BudgetResult, prepare_topics, run_budget
from benchmarks.ceiling import PARTITIONS, RECORD_BYTES, CeilingResult, consume_produce
from cimis_devtools.kafka_access import ADMIN, KafkaAccess
from cimis_devtools.kafka_local import KAFKA_VERSION, LocalKafka
from cimis_devtools.postgres_local import LocalPostgres, PostgresNotFoundError, PostgresStartError

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
# Budget events per run (the scaling run takes twice as many) and ceiling events per run.
DEFAULT_EVENTS = 3_000
QUICK_EVENTS = 1_000
CEILING_FACTOR = 10


def _rss_mib() -> float:
    """Resident memory now, from /proc (Linux); the peak where /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _peak_rss_mib()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<34} {value:>16}  {note}")


def _budget_figures(
    results: list[BudgetResult], ceiling: CeilingResult | None
) -> dict[str, Any] | None:
    if not results:
        return None
    single, double = results
    figures: dict[str, Any] = {}
    for key, result in (("n", single), ("2n", double)):
        figures[key] = {
            "events": result.events,
            "measured_events": result.measured_events,
            "seconds": round(result.seconds, 3),
            "events_per_second": round(result.events_per_second, 1),
            "ms_per_event": round(1000 / result.events_per_second, 3)
            if result.events_per_second
            else None,
            "statements": result.statements,
            "statements_per_event": round(result.statements_per_event, 2),
            "ratio_to_ceiling_1to1": round(result.events_per_second / ceiling.events_per_second, 4)
            if ceiling and ceiling.events_per_second
            else None,
        }
    # Cost per event at 2N over cost per event at N: 1.0 is flat, above 1 grows with volume.
    figures["cost_ratio_2n_over_n"] = (
        round(single.events_per_second / double.events_per_second, 3)
        if double.events_per_second and single.events_per_second
        else None
    )
    return figures


def _print_budget(name: str, figures: dict[str, Any]) -> None:
    for key in ("n", "2n"):
        f = figures[key]
        ratio = f["ratio_to_ceiling_1to1"]
        if not f["measured_events"]:
            _row(f"budget {name} ({f['events']} events)", "n/a", "(all in the first batch)")
            continue
        _row(
            f"budget {name} ({f['events']} events)",
            f"{f['events_per_second']:,.0f} events/s",
            f"{f['ms_per_event']:.2f} ms/event, {f['statements_per_event']:.1f} statements/event"
            + (f", {ratio:.1%} of 1:1 ceiling" if ratio is not None else ""),
        )
    cost = figures["cost_ratio_2n_over_n"]
    _row(
        f"budget {name} cost per event 2N/N",
        "n/a" if cost is None else f"{cost:.2f}",
        "(1.00 = flat; above 1 = each event costs more at 2N)",
    )


async def _budget_series(
    workdir: Path, bootstrap: str, url_for: Any, label: str, events: int
) -> list[BudgetResult]:
    results = []
    for teams in (events, 2 * events):
        url = url_for(f"budget_{label}_{teams}_{uuid.uuid4().hex[:6]}")
        results.append(await run_budget(workdir, bootstrap, url, label, teams))
    return results


async def main(events: int, ceiling_events: int, *, postgres: bool) -> dict[str, Any]:
    stamp = datetime.now(UTC)
    report: dict[str, Any] = {
        "started_at": stamp.isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "parameters": {
            "budget_events": events,
            "ceiling_events": ceiling_events,
            "partitions": PARTITIONS,
            "record_bytes": RECORD_BYTES,
        },
    }
    with tempfile.TemporaryDirectory(prefix="cimis-bench-") as tmp:
        workdir = Path(tmp)
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        kafka: LocalKafka | None = None
        pg: LocalPostgres | None = None
        pg_dir: Path | None = None
        try:
            if not bootstrap:
                access = KafkaAccess.load_or_create(workdir / "kafka-clients", env={})
                kafka = LocalKafka(workdir / "kafka", access=access)
                kafka.start()
                bootstrap = kafka.bootstrap_servers
                # The in-process service and the clients connect as the operators' admin.
                os.environ["KAFKA_CLIENT_CONFIG"] = str(access.client_file(ADMIN))
                kafka_version = f"{KAFKA_VERSION} (local, SASL/SCRAM)"
            else:
                kafka_version = "external broker (version not probed)"
            report["machine"]["kafka"] = kafka_version
            report["broker"] = bootstrap
            print(
                f"CIMIS bench: {os.cpu_count()} cores, Python {platform.python_version()}, "
                f"Kafka {kafka_version}, broker {bootstrap}"
            )
            print(
                f"  budget N={events} (and 2N={2 * events}), ceiling {ceiling_events} records "
                f"of {RECORD_BYTES} bytes over {PARTITIONS} partitions"
            )
            print()

            ceilings: dict[int, CeilingResult] = {}
            for fan_out in (1, 2):
                result = await consume_produce(bootstrap, ceiling_events, fan_out)
                ceilings[fan_out] = result
                _row(
                    f"aiokafka ceiling 1:{fan_out}",
                    f"{result.events_per_second:,.0f} events/s",
                    "(consume -> produce, acks=all, idempotent, commit per batch)",
                )
            report["ceiling"] = {
                f"1to{k}": {
                    "events": v.events,
                    "measured_events": v.measured_events,
                    "seconds": round(v.seconds, 3),
                    "events_per_second": round(v.events_per_second, 1),
                }
                for k, v in ceilings.items()
            }

            await prepare_topics(bootstrap)
            sqlite = await _budget_series(
                workdir,
                bootstrap,
                lambda name: f"sqlite:///{workdir / (name + '.db')}",
                "sqlite",
                events,
            )
            report["budget_sqlite"] = _budget_figures(sqlite, ceilings[1])
            _print_budget("SQLite", report["budget_sqlite"])

            report["budget_postgresql"] = None
            if not postgres:
                print("  budget PostgreSQL: skipped (--no-postgres)")
                report["budget_postgresql_skipped"] = "--no-postgres"
            else:
                # Not under workdir: when run as root the server runs as `postgres`, which
                # must be able to enter the data directory's parents.
                pg_dir = Path(tempfile.mkdtemp(prefix="cimis-bench-pg-"))
                try:
                    pg = LocalPostgres(pg_dir)
                    pg.start()
                except (PostgresNotFoundError, PostgresStartError) as exc:
                    print(f"  budget PostgreSQL: skipped, no local PostgreSQL ({exc})")
                    report["budget_postgresql_skipped"] = str(exc)
                    pg = None
                if pg is not None:
                    server = pg
                    report["machine"]["postgresql"] = str(server)
                    postgresql = await _budget_series(
                        workdir, bootstrap, server.create_database, "postgresql", events
                    )
                    report["budget_postgresql"] = _budget_figures(postgresql, ceilings[1])
                    _print_budget("PostgreSQL", report["budget_postgresql"])
        finally:
            if pg is not None:
                pg.stop()
            if pg_dir is not None:
                shutil.rmtree(pg_dir, ignore_errors=True)
            if kafka is not None:
                kafka.stop()

    report["rss_mib"] = round(_rss_mib(), 1)
    report["peak_rss_mib"] = round(_peak_rss_mib(), 1)
    _row("resident memory at the end", f"{report['rss_mib']:,.0f} MiB", "(this process)")
    _row("peak resident memory", f"{report['peak_rss_mib']:,.0f} MiB", "(this process)")
    return report


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help=f"budget events per run, N (default {DEFAULT_EVENTS}, --quick {QUICK_EVENTS}); "
        f"the ceiling relays {CEILING_FACTOR}x as many",
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run for a quick look")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL runs")
    args = parser.parse_args(argv)
    events = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    started = time.perf_counter()
    report = asyncio.run(main(events, events * CEILING_FACTOR, postgres=not args.no_postgres))
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    report["argv"] = sys.argv[1:] if argv is None else argv
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n  wall time {report['wall_seconds']:.0f} s; figures written to {path}")


if __name__ == "__main__":
    cli()
