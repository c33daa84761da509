"""Entry point of the ``cimis`` command."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer

from cimis_chassis.api_keys import KeyFileError, KeyRecord, list_keys, revoke_key
from cimis_chassis.auth import Role, create_key
from cimis_chassis.kafka_client import KafkaClientConfig, client_config, client_config_from_env
from cimis_devtools.kafka_cli import kafka_app

app = typer.Typer(help="CIMIS programme platform tools.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (only their hashes are stored).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(kafka_app, name="kafka")

KeysFile = Annotated[
    Path,
    typer.Option(envvar="CIMIS_API_KEYS_FILE", help="The keys file."),
]


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, staff, finance, agent or operator")],
    principal: Annotated[str, typer.Option(help="Who uses the key; for agents, the agent id")],
    keys_file: KeysFile = Path("var/api-keys.json"),
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="The key stops working after this many days")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            help="Who holds the key (e.g. an e-mail address; default: the principal); a "
            "person's keys all use one principal, so four eyes compare people"
        ),
    ] = None,
) -> None:
    """Create a key and print it once; store only its hash."""
    try:
        token = create_key(
            keys_file,
            role=role,
            principal=principal,
            expires_in_days=expires_in_days,
            person=person,
        )
    except KeyFileError as refused:
        typer.echo(f"refused: {refused}", err=True)
        raise typer.Exit(1) from None
    typer.echo(token)
    typer.echo(f"(stored the hash for {principal} as {role.value} in {keys_file})", err=True)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _key_row(key: KeyRecord, now: datetime) -> list[str]:
    status = key.status(now)
    if key.revoked_at is not None:
        status += f" {_when(key.revoked_at)}"
    return [
        key.id,
        key.role,
        key.principal,
        key.person or key.principal,
        _when(key.created_at),
        _when(key.last_used_at) if key.last_used_at else "never",
        _when(key.expires_at) if key.expires_at else "never",
        status,
    ]


@keys_app.command("list")
def keys_list(keys_file: KeysFile = Path("var/api-keys.json")) -> None:
    """List the keys (never the keys themselves): role, principal, use, expiry, status (UTC)."""
    now = datetime.now(UTC)
    header = ["ID", "ROLE", "PRINCIPAL", "PERSON", "CREATED", "LAST USED", "EXPIRES", "STATUS"]
    rows = [header] + [_key_row(key, now) for key in list_keys(keys_file)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id, as 'cimis keys list' shows it")],
    keys_file: KeysFile = Path("var/api-keys.json"),
) -> None:
    """Revoke a key: it stays in the file, marked with the time, and answers 401 from now on."""
    try:
        key = revoke_key(keys_file, key_id)
    except KeyFileError as unknown:
        typer.echo(str(unknown), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {key.id} ({key.principal}, {key.role}) at {_when(key.revoked_at)} UTC")


@app.command()
def run(
    var_dir: Annotated[
        Path, typer.Option(envvar="VAR_DIR", help="State: Kafka data, SQLite files, logs")
    ] = Path("var"),
) -> None:
    """Run Kafka and every service locally until Ctrl-C."""
    from cimis_cli.runner import run_platform

    raise typer.Exit(run_platform(var_dir))


@app.command("migrate")
def migrate(
    service: Annotated[str, typer.Argument(help="intake, budget, milestones, notify or outcomes")],
    database_url: Annotated[
        str, typer.Option(envvar="DATABASE_URL", help="The service's database", show_default=False)
    ],
) -> None:
    """Bring a service's database to its newest schema and exit (services also do it at start)."""
    from cimis_cli.platform import SERVICES
    from cimis_cli.platform import migrate as migrate_service

    names = [spec.name for spec in SERVICES]
    if service not in names:
        typer.echo(f"error: {service!r} is not a service ({', '.join(names)})", err=True)
        raise typer.Exit(2)
    migrate_service(service, database_url)
    typer.echo(f"{service}: database at the newest schema")


@app.command("topics")
def create_topics(
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = "127.0.0.1:9092",
) -> None:
    """Create every platform topic with its partition count (existing ones are kept)."""
    import asyncio

    from cimis_chassis.kafka import ensure_topics
    from cimis_contracts.topics import all_topics

    asyncio.run(ensure_topics(operator_kafka(bootstrap), all_topics()))
    typer.echo("topics ready: " + ", ".join(sorted(all_topics())))


dlq_app = typer.Typer(help="Dead-lettered events.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("replay")
def dlq_replay(
    consumer: Annotated[str, typer.Argument(help="The consuming service, e.g. budget")],
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = "127.0.0.1:9092",
    limit: Annotated[int | None, typer.Option(help="Replay at most this many")] = None,
    dry_run: Annotated[bool, typer.Option(help="Only list what would be replayed")] = False,
) -> None:
    """Send parked records back to their original topics (consumers are idempotent)."""
    import asyncio

    from cimis_chassis.dead_letters import replay_dead_letters

    replayed = asyncio.run(
        replay_dead_letters(operator_kafka(bootstrap), consumer, limit=limit, dry_run=dry_run)
    )
    for item in replayed:
        typer.echo(f"{item['to']}  (dead-letter offset {item['offset']})  {item['error']}")
    verb = "would replay" if dry_run else "replayed"
    typer.echo(f"{verb} {len(replayed)} record(s) from cimis.{consumer}.dlq")


@dlq_app.command("list")
def dlq_list(
    consumer: Annotated[str, typer.Argument(help="The consuming service, e.g. budget")],
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = "127.0.0.1:9092",
) -> None:
    """List what is parked: dead-letter offset, origin, size, and why."""
    import asyncio

    from cimis_chassis.dead_letters import H_ERROR, H_SIZE, read_parked

    parked = asyncio.run(read_parked(operator_kafka(bootstrap), consumer))
    for item in parked:
        origin = item.origin
        where = f"{origin.topic}[{origin.partition}]@{origin.offset}" if origin else "?"
        summary = " (summary: cimis dlq show for the original)" if item.truncated else ""
        typer.echo(
            f"{item.dlq_offset:>6}  {where}  {item.headers.get(H_SIZE, '?')} bytes{summary}  "
            f"{item.headers.get(H_ERROR, '')[:160]}"
        )
    typer.echo(f"{len(parked)} record(s) parked on cimis.{consumer}.dlq")


@dlq_app.command("show")
def dlq_show(
    consumer: Annotated[str, typer.Argument(help="The consuming service, e.g. budget")],
    offset: Annotated[int, typer.Argument(help="The dead letter's offset (see cimis dlq list)")],
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = "127.0.0.1:9092",
    output: Annotated[
        Path | None, typer.Option(help="Write the original record's value to this file")
    ] = None,
) -> None:
    """Show one dead letter with its headers; the original is read from its own topic."""
    import asyncio

    from cimis_chassis.dead_letters import read_original, read_parked

    kafka = operator_kafka(bootstrap)
    parked = {p.dlq_offset: p for p in asyncio.run(read_parked(kafka, consumer))}
    item = parked.get(offset)
    if item is None:
        typer.echo(f"no dead letter at offset {offset} of cimis.{consumer}.dlq", err=True)
        raise typer.Exit(1)
    for name, text in sorted(item.headers.items()):
        typer.echo(f"{name}: {text}")
    value = item.value
    if item.truncated and item.origin is not None:
        original = asyncio.run(read_original(kafka, item.origin))
        if original is None:
            typer.echo("the original is no longer on its topic; only the prefix is kept")
        else:
            value = original.value or b""
    if output is not None:
        output.write_bytes(value)
        typer.echo(f"wrote {len(value)} bytes to {output}")
    else:
        typer.echo(f"value ({len(value)} bytes, first 2000 shown):")
        typer.echo(value[:2000].decode("utf-8", "backslashreplace"))


@app.command("asyncapi")
def asyncapi(
    service: Annotated[str, typer.Argument(help="intake, budget, milestones or notify")],
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
) -> None:
    """Print a service's AsyncAPI document, as kept in docs/asyncapi/."""
    from cimis_cli.platform import asyncapi_yaml

    document = asyncapi_yaml(service)
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document)


@app.command("catalogue")
def catalogue(
    write: Annotated[
        Path | None,
        typer.Option(help="Update the catalogue between the markers in this file (README.md)"),
    ] = None,
    docs: Annotated[Path, typer.Option(help="The AsyncAPI documents")] = Path("docs/asyncapi"),
) -> None:
    """Print the event catalogue generated from the AsyncAPI documents, or update README.md."""
    from cimis_cli.catalogue import render_catalogue, replace_section

    section = render_catalogue(docs)
    if write is None:
        typer.echo(section)
        return
    write.write_text(replace_section(write.read_text(), section))
    typer.echo(f"updated the event catalogue in {write}")


def operator_kafka(bootstrap: str) -> KafkaClientConfig:
    """The operators' Kafka identity: KAFKA_CLIENT_CONFIG / KAFKA_SASL_*, else make run's admin."""
    from_env = client_config_from_env(bootstrap)
    if from_env.username or not from_env.uses_sasl:
        return from_env
    local_admin = Path(os.environ.get("VAR_DIR", "var")) / "kafka" / "clients" / "admin.conf"
    if local_admin.exists():
        return client_config(bootstrap, client_file=local_admin)
    return from_env


def add_service_commands(root: typer.Typer) -> None:
    """Mount each service's own commands (entry point group ``cimis.commands``).

    The CLI never imports a service: a service that has tools registers a Typer app under its
    name in pyproject.toml, and ``cimis <service> ...`` finds it here.
    """
    for entry in sorted(entry_points(group="cimis.commands"), key=lambda e: e.name):
        root.add_typer(entry.load(), name=entry.name)


def main() -> None:
    add_service_commands(app)
    app()
