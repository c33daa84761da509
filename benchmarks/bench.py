"""The platform benchmark: the raw Kafka ceiling, each consuming service's pipeline, end to end.

Run with ``make bench`` or ``python -m benchmarks.bench [--events N] [--quick]``. Uses
``KAFKA_BOOTSTRAP_SERVERS`` when set (with the identity of ``KAFKA_CLIENT_CONFIG`` etc.),
otherwise starts a local SASL broker for the run; starts a local PostgreSQL when its
binaries are installed. All on the same broker, in this order:

1. the raw aiokafka ceiling, consume -> produce 1:1 and 1:2 (``benchmarks.ceiling``);
2. budget, milestones and notify in-process, each applying N and 2N pre-loaded events, on
   SQLite and on PostgreSQL (``benchmarks.service_run``);
3. the five services as real processes: HTTP accept at intake to the agent's alert, open
   loop at 10 and 50 acceptances per second, and each process's resident memory at idle and
   after that load (``benchmarks.e2e``).

Prints a table and writes the same figures as JSON to ``bench/results/<UTC timestamp>.json``.
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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.ceiling import PARTITIONS, RECORD_BYTES, CeilingResult, consume_produce
from benchmarks.e2e import run_e2e
from benchmarks.service_run import PIPELINES, PipelineResult, prepare_topics, run_pipeline
from cimis_devtools.kafka_access import ADMIN, KafkaAccess
from cimis_devtools.kafka_local import KAFKA_VERSION, LocalKafka
from cimis_devtools.postgres_local import LocalPostgres, PostgresNotFoundError, PostgresStartError

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
# Events per pipeline run (the scaling run takes twice as many) and ceiling events per run.
DEFAULT_EVENTS = 2_000
QUICK_EVENTS = 600
CEILING_FACTOR = 10
# End to end: (acceptances per second, seconds) per phase.
E2E_PHASES = [(10.0, 20.0), (50.0, 20.0)]
QUICK_E2E_PHASES = [(10.0, 4.0), (50.0, 4.0)]
# A pipeline run whose timed window (after the first committed batch) holds fewer of its
# events than this is reported as not measured.
MIN_MEASURED_SHARE = 0.25
# Statement kinds listed per service in the JSON (the most frequent first).
TOP_STATEMENT_KINDS = 12


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
    print(f"  {label:<40} {value:>16}  {note}")


def _pipeline_figures(
    results: list[PipelineResult], ceiling: CeilingResult | None
) -> dict[str, Any]:
    single, double = results
    figures: dict[str, Any] = {"effect": PIPELINES[single.service].effect}
    for key, result in (("n", single), ("2n", double)):
        per_event = result.measured_events or 1
        # The call's opening may come after most of its teams (another partition): those
        # wait, and are all applied in the call's batch, before the window opens. A window
        # with under a quarter of the events measures that batch's tail, not the pipeline.
        measured = result.measured_events >= result.events * MIN_MEASURED_SHARE
        figures[key] = {
            "measured": measured,
            "events": result.events,
            "measured_events": result.measured_events,
            "seconds": round(result.seconds, 3),
            "events_per_second": round(result.events_per_second, 1),
            "ms_per_event": round(1000 / result.events_per_second, 3)
            if result.events_per_second
            else None,
            "statements": result.statements,
            "statements_per_event": round(result.statements_per_event, 3),
            "statements_per_event_by_kind": {
                kind: round(count / per_event, 3)
                for kind, count in list(result.statement_kinds.items())[:TOP_STATEMENT_KINDS]
            },
            "statements_by_kind": result.statement_kinds,
            "ratio_to_ceiling_1to1": round(result.events_per_second / ceiling.events_per_second, 4)
            if ceiling and ceiling.events_per_second
            else None,
            "published": result.published,
            "duplicate_publications": result.duplicate_publications,
        }
    # Cost per event at 2N over cost per event at N: 1.0 is flat, above 1 grows with volume.
    figures["cost_ratio_2n_over_n"] = (
        round(single.events_per_second / double.events_per_second, 3)
        if double.events_per_second
        and single.events_per_second
        and figures["n"]["measured"]
        and figures["2n"]["measured"]
        else None
    )
    return figures


def _print_pipeline(service: str, database: str, figures: dict[str, Any]) -> None:
    for key in ("n", "2n"):
        f = figures[key]
        ratio = f["ratio_to_ceiling_1to1"]
        label = f"{service} {database} ({f['events']} events)"
        if not f["measured"]:
            _row(
                label,
                "not measured",
                f"(the first committed batch held {f['events'] - f['measured_events']} events)",
            )
            continue
        _row(
            label,
            f"{f['events_per_second']:,.0f} events/s",
            f"{f['ms_per_event']:.2f} ms/event, {f['statements_per_event']:.2f} statements/event"
            + (f", {ratio:.1%} of 1:1 ceiling" if ratio is not None else "")
            + f", {f['duplicate_publications']} of {f['published']} published twice",
        )
    cost = figures["cost_ratio_2n_over_n"]
    _row(
        f"{service} {database} cost per event 2N/N",
        "n/a" if cost is None else f"{cost:.2f}",
        "(1.00 = flat; above 1 = each event costs more at 2N)",
    )


async def _pipelines(
    workdir: Path,
    bootstrap: str,
    url_for: Callable[[str], str],
    database: str,
    events: int,
    ceiling: CeilingResult,
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for service, pipeline in PIPELINES.items():
        results = []
        for teams in (events, 2 * events):
            url = url_for(f"{service}_{database}_{teams}_{uuid.uuid4().hex[:6]}")
            results.append(await run_pipeline(pipeline, workdir, bootstrap, url, database, teams))
        figures[service] = _pipeline_figures(results, ceiling)
        _print_pipeline(service, database, figures[service])
    return figures


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _print_e2e(e2e: dict[str, Any]) -> None:
    print()
    print(
        f"  end to end on {e2e['database']}: five service processes, open loop; "
        "accept = intake's 200 at the client;"
    )
    print(
        "  alert = the team_assigned mail at the SMTP sink (this clock); inbox row = the "
        "notification's created_at (notify's clock, before its commit)"
    )
    for phase in e2e["phases"]:
        rate = phase["rate_per_second"]
        head = f"e2e {rate:g}/s x {phase['seconds']:g} s ({phase['teams']} teams)"
        for label, key in (
            ("accept HTTP", "accept_http_ms"),
            ("accept -> alert mail", "accept_to_mail_ms"),
            ("accept -> inbox row", "accept_to_inbox_row_ms"),
        ):
            q = phase[key]
            _row(
                f"{head} {label}" if label == "accept HTTP" else f"  {label}",
                f"p50 {_ms(q['p50_ms'])} ms",
                f"p95 {_ms(q['p95_ms'])} ms, p99 {_ms(q['p99_ms'])} ms, max {_ms(q['max_ms'])} ms "
                f"(n={q['count']})",
            )
        _row(
            "  sent / accepted / mailed / errors",
            f"{phase['achieved_send_rate'] or 0:g}/s",
            f"{phase['accepted']} accepted, {phase['alerts_mailed']} mailed, "
            f"{phase['alerts_in_inbox']} inbox rows, {phase['errors']} errors, "
            f"max send lag {_ms(phase['max_send_lag_ms'])} ms",
        )
        cpu = phase.get("cpu_ms_per_accept")
        if cpu:
            _row(
                "  CPU per accept",
                f"{sum(cpu.values()):,.1f} ms in the services",
                ", ".join(f"{service} {ms:,.1f} ms" for service, ms in cpu.items())
                + f"; machine {phase['machine_busy_share']:.0%} busy",
            )
    print()
    idle_cpu = e2e.get("idle_cpu_share")
    if idle_cpu:
        _row(
            "CPU at idle (share of a core)",
            f"{sum(idle_cpu.values()):.0%} in all",
            ", ".join(f"{service} {share:.1%}" for service, share in idle_cpu.items()),
        )
    idle, after = e2e.get("memory_idle_kib", {}), e2e.get("memory_after_load_kib", {})
    for service in idle:
        before = idle[service].get("VmRSS")
        loaded = after.get(service, {}).get("VmRSS")
        peak = after.get(service, {}).get("VmHWM")
        _row(
            f"resident memory {service}",
            "-" if before is None else f"{before / 1024:,.0f} MiB idle",
            ("" if loaded is None else f"{loaded / 1024:,.0f} MiB after the load")
            + ("" if peak is None else f", peak {peak / 1024:,.0f} MiB (VmRSS/VmHWM)"),
        )


async def main(
    events: int,
    ceiling_events: int,
    e2e_phases: list[tuple[float, float]],
    *,
    postgres: bool,
    e2e: bool,
    pipelines: bool = True,
) -> dict[str, Any]:
    stamp = datetime.now(UTC)
    report: dict[str, Any] = {
        "started_at": stamp.isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "parameters": {
            "pipeline_events": events,
            "ceiling_events": ceiling_events,
            "partitions": PARTITIONS,
            "record_bytes": RECORD_BYTES,
            "e2e_phases": [{"rate_per_second": r, "seconds": s} for r, s in e2e_phases],
        },
    }
    with tempfile.TemporaryDirectory(prefix="cimis-bench-") as tmp:
        workdir = Path(tmp)
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        kafka: LocalKafka | None = None
        access: KafkaAccess | None = None
        pg: LocalPostgres | None = None
        pg_dir: Path | None = None
        try:
            if not bootstrap:
                access = KafkaAccess.load_or_create(workdir / "kafka-clients", env={})
                kafka = LocalKafka(workdir / "kafka", access=access)
                kafka.start()
                bootstrap = kafka.bootstrap_servers
                # The in-process services and the clients connect as the operators' admin;
                # the service processes of the end-to-end run each as their own principal.
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
                f"  pipelines N={events} (and 2N={2 * events}) team_accepted each, ceiling "
                f"{ceiling_events} records of {RECORD_BYTES} bytes over {PARTITIONS} partitions"
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
            print()
            print(
                "  statements = cursor executions, i.e. database round trips: an executemany "
                "or a multi-row INSERT counts once"
            )
            for service, pipeline in PIPELINES.items():
                _row(f"{service} per team_accepted", "", pipeline.effect)

            await prepare_topics(bootstrap)
            report["pipelines_sqlite"] = None
            if pipelines:
                report["pipelines_sqlite"] = await _pipelines(
                    workdir,
                    bootstrap,
                    lambda name: f"sqlite:///{workdir / (name + '.db')}",
                    "SQLite",
                    events,
                    ceilings[1],
                )

            report["pipelines_postgresql"] = None
            if not postgres:
                print("  PostgreSQL: skipped (--no-postgres)")
                report["postgresql_skipped"] = "--no-postgres"
            else:
                # Not under workdir: when run as root the server runs as `postgres`, which
                # must be able to enter the data directory's parents.
                pg_dir = Path(tempfile.mkdtemp(prefix="cimis-bench-pg-"))
                try:
                    pg = LocalPostgres(pg_dir)
                    pg.start()
                except (PostgresNotFoundError, PostgresStartError) as exc:
                    print(f"  PostgreSQL: skipped, no local PostgreSQL ({exc})")
                    report["postgresql_skipped"] = str(exc)
                    pg = None
                if pg is not None and pipelines:
                    report["machine"]["postgresql"] = str(pg)
                    report["pipelines_postgresql"] = await _pipelines(
                        workdir, bootstrap, pg.create_database, "PostgreSQL", events, ceilings[1]
                    )

            report["e2e"] = None
            if e2e:
                # Production's database where there is one, else each service's SQLite file.
                if pg is not None:
                    database_for, label = pg.create_database, "PostgreSQL"
                else:
                    database_for = lambda name: f"sqlite:///{workdir / (name + '.db')}"  # noqa: E731
                    label = "SQLite"
                report["e2e"] = await run_e2e(
                    workdir, bootstrap, access, database_for, label, e2e_phases
                )
                _print_e2e(report["e2e"])
        finally:
            if pg is not None:
                pg.stop()
            if pg_dir is not None:
                shutil.rmtree(pg_dir, ignore_errors=True)
            if kafka is not None:
                kafka.stop()

    report["rss_mib"] = round(_rss_mib(), 1)
    report["peak_rss_mib"] = round(_peak_rss_mib(), 1)
    _row(
        "resident memory of the benchmark",
        f"{report['rss_mib']:,.0f} MiB",
        "(this process, in-process pipelines)",
    )
    _row(
        "peak resident memory of the benchmark",
        f"{report['peak_rss_mib']:,.0f} MiB",
        "(this process)",
    )
    return report


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help=f"events per pipeline run, N (default {DEFAULT_EVENTS}, --quick {QUICK_EVENTS}); "
        f"the ceiling relays {CEILING_FACTOR}x as many",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smaller run for a quick look (short e2e phases)"
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL runs")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end run")
    parser.add_argument(
        "--no-pipelines", action="store_true", help="skip the in-process service pipelines"
    )
    args = parser.parse_args(argv)
    events = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    phases = QUICK_E2E_PHASES if args.quick else E2E_PHASES
    started = time.perf_counter()
    report = asyncio.run(
        main(
            events,
            events * CEILING_FACTOR,
            phases,
            postgres=not args.no_postgres,
            e2e=not args.no_e2e,
            pipelines=not args.no_pipelines,
        )
    )
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    report["argv"] = sys.argv[1:] if argv is None else argv
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n  wall time {report['wall_seconds']:.0f} s; figures written to {path}")


if __name__ == "__main__":
    cli()
