"""`cimis kafka ...` commands: fetch jars, start/stop/inspect a detached local Kafka broker."""

from pathlib import Path
from typing import Annotated

import typer

from cimis_chassis.kafka_client import KafkaClientConfig, client_config_from_env
from cimis_devtools.kafka_access import ADMIN, SERVICES, KafkaAccess, apply_access
from cimis_devtools.kafka_local import (
    KAFKA_VERSION,
    KafkaSetupError,
    KafkaStartError,
    daemon_status,
    fetch_jars,
    kafka_cache_dir,
    start_daemon,
    stop_daemon,
)

kafka_app = typer.Typer(
    help=f"Local single-node Apache Kafka {KAFKA_VERSION} broker (KRaft, no Docker).",
    no_args_is_help=True,
)

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Broker data, logs, pid and port files. Default: ./var/kafka.",
        file_okay=False,
    ),
]


@kafka_app.command()
def fetch() -> None:
    """Download the broker jars from Maven Central into the cache (needs `mvn`)."""
    try:
        libs = fetch_jars()
    except KafkaSetupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Kafka {KAFKA_VERSION} jars ready in {libs} (cache root {kafka_cache_dir()})")


@kafka_app.command()
def start(
    state_dir: StateDirOption = None,
    port: Annotated[
        int | None,
        typer.Option(help="Client port. Default: $CIMIS_KAFKA_PORT or 9092."),
    ] = None,
    controller_port: Annotated[
        int | None,
        typer.Option(help="KRaft controller port. Default: $CIMIS_KAFKA_CONTROLLER_PORT or 9093."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the broker.")] = 60.0,
) -> None:
    """Start the broker in the background; does nothing if it already runs."""
    before = daemon_status(state_dir)
    try:
        status = start_daemon(
            state_dir, port=port, controller_port=controller_port, timeout=timeout
        )
    except (KafkaSetupError, KafkaStartError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    verb = "already running" if before.running else "started"
    typer.echo(f"Kafka {verb}: {status.bootstrap_servers} (pid {status.pid}, {status.state_dir})")
    typer.echo(f"SASL/SCRAM client files: {status.state_dir / 'clients'}/<principal>.conf")


@kafka_app.command()
def stop(state_dir: StateDirOption = None) -> None:
    """Stop the background broker (controlled shutdown, SIGKILL after 20 s)."""
    if stop_daemon(state_dir):
        typer.echo("Kafka stopped")
    else:
        typer.echo("Kafka was not running")


@kafka_app.command()
def status(state_dir: StateDirOption = None) -> None:
    """Show whether the background broker runs; exit code 1 if it does not."""
    current = daemon_status(state_dir)
    if current.running:
        typer.echo(
            f"Kafka running: {current.bootstrap_servers} (pid {current.pid}, {current.state_dir})"
        )
        return
    typer.echo(f"Kafka not running ({current.state_dir})")
    raise typer.Exit(1)


ClientsDirOption = Annotated[
    Path,
    typer.Option(
        "--clients-dir",
        envvar="CIMIS_KAFKA_CLIENTS_DIR",
        help="One client file per principal (passwords); default ./var/kafka/clients.",
        file_okay=False,
    ),
]
BootstrapOption = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")]


@kafka_app.command("access")
def access(
    bootstrap: BootstrapOption = "127.0.0.1:9092",
    clients_dir: ClientsDirOption = Path("var/kafka/clients"),
) -> None:
    """Create or update every service principal and its ACLs on a broker (as the admin).

    Passwords come from KAFKA_<PRINCIPAL>_PASSWORD, else the client files, else new ones;
    the admin's own credentials from KAFKA_CLIENT_CONFIG / KAFKA_SASL_* or its client file.
    """
    keys = KafkaAccess.load_or_create(clients_dir)
    admin = _admin_client(bootstrap, keys)
    count = apply_access(admin, keys)
    typer.echo(f"{len(SERVICES)} service principals and {count} ACLs applied on {bootstrap}")


@kafka_app.command("rotate")
def rotate(
    principal: Annotated[str, typer.Argument(help="intake, budget, milestones or notify")],
    bootstrap: BootstrapOption = "127.0.0.1:9092",
    clients_dir: ClientsDirOption = Path("var/kafka/clients"),
) -> None:
    """Give a service principal a new password, on the broker and in its client file.

    Restart the service afterwards: connections it holds stay up, new ones need the new
    password.
    """
    if principal not in SERVICES:
        typer.echo(f"error: {principal!r} is not a service principal ({', '.join(SERVICES)})")
        raise typer.Exit(2)
    keys = KafkaAccess.load_or_create(clients_dir)
    admin = _admin_client(bootstrap, keys)
    keys.rotate(principal)
    apply_access(admin, keys, services=[principal])
    keys.write_files()
    typer.echo(f"new password for {principal} in {keys.client_file(principal)}; restart it")


@kafka_app.command("chart")
def chart(
    write: Annotated[
        Path | None,
        typer.Option(help="Write to this file (the chart's files/kafka.yaml) instead of stdout"),
    ] = None,
) -> None:
    """Print the topics and per-service ACLs the Helm chart reads (files/kafka.yaml)."""
    from cimis_devtools.chart_kafka import render_kafka_definitions

    text = render_kafka_definitions()
    if write is None:
        typer.echo(text, nl=False)
        return
    write.write_text(text)
    typer.echo(f"wrote {write}")


def _admin_client(bootstrap: str, keys: KafkaAccess) -> KafkaClientConfig:
    from_env = client_config_from_env(bootstrap)
    if from_env.username and from_env.password:
        return from_env
    return keys.client(bootstrap, ADMIN)
