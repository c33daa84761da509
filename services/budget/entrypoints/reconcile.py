"""``cimis budget reconcile``: proves the books balance, for finance and for operators."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from cimis_chassis.database import Database
from services.budget.adapters.ledger_store import Reconciliation, reconcile
from services.budget.settings import BudgetSettings

# Mounted by the cimis CLI as `cimis budget` (entry point group cimis.commands).
app = typer.Typer(help="Budget service tools.", no_args_is_help=True)


async def reconcile_database(database_url: str) -> Reconciliation:
    db = Database(database_url)
    try:
        async with db.sessions() as session:
            return await reconcile(session)
    finally:
        await db.dispose()


def run(database_url: str | None = None) -> Reconciliation:
    return asyncio.run(reconcile_database(database_url or BudgetSettings().database_url))


@app.command("reconcile")
def reconcile_command(
    database_url: Annotated[
        str | None, typer.Option(envvar="DATABASE_URL", help="The budget database")
    ] = None,
) -> None:
    """Check that every balance equals its entries and the books balance to zero."""
    report = run(database_url)
    typer.echo(
        f"{report.transfers} transfers, {report.accounts} accounts, "
        f"imbalance {report.imbalance_cents} cents"
    )
    for problem in report.problems:
        typer.echo(f"PROBLEM: {problem}", err=True)
    if not report.ok:
        raise typer.Exit(1)
    typer.echo("the books balance")
