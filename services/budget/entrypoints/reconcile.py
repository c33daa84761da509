"""``cimis budget reconcile``: proves the books balance, for finance and for operators."""

from __future__ import annotations

import asyncio

from cimis_chassis.database import Database
from services.budget.adapters.ledger_store import Reconciliation, reconcile
from services.budget.settings import BudgetSettings


async def reconcile_database(database_url: str) -> Reconciliation:
    db = Database(database_url)
    try:
        async with db.sessions() as session:
            return await reconcile(session)
    finally:
        await db.dispose()


def run(database_url: str | None = None) -> Reconciliation:
    return asyncio.run(reconcile_database(database_url or BudgetSettings().database_url))
