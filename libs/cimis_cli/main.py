"""Entry point of the ``cimis`` command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cimis_chassis.auth import Role, create_key
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
) -> None:
    """Create a key and print it once; store only its hash."""
    token = create_key(keys_file, role=role, principal=principal)
    typer.echo(token)
    typer.echo(f"(stored the hash for {principal} as {role.value} in {keys_file})", err=True)


@app.command()
def run(
    var_dir: Annotated[Path, typer.Option(help="State: Kafka data, SQLite files, logs")] = Path(
        os.environ.get("VAR_DIR", "var")
    ),
) -> None:
    """Run Kafka and every service locally until Ctrl-C."""
    from cimis_cli.runner import run_platform

    raise typer.Exit(run_platform(var_dir))


@app.command("topics")
def create_topics(
    bootstrap: Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS")] = "127.0.0.1:9092",
) -> None:
    """Create every platform topic with its partition count (existing ones are kept)."""
    import asyncio

    from cimis_chassis.kafka import ensure_topics
    from cimis_contracts.topics import all_topics

    asyncio.run(ensure_topics(bootstrap, all_topics()))
    typer.echo("topics ready: " + ", ".join(sorted(all_topics())))


def main() -> None:
    app()
