"""Budget's business gauges, refreshed from the database by a background job."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge

from cimis_chassis.database import Database
from cimis_chassis.logs import ThrottledLog
from cimis_chassis.metrics import ServiceMetrics
from services.budget.adapters.ledger_store import reconcile
from services.budget.adapters.queries import BudgetQueries

log = logging.getLogger(__name__)


class BudgetGauges:
    def __init__(self, metrics: ServiceMetrics) -> None:
        r = metrics.registry
        # Calls are few and long-lived, so the call id is an acceptable label here.
        self.pot_total = Gauge(
            "cimis_budget_pot_total_cents", "Pot per call.", ["call"], registry=r
        )
        self.allocated = Gauge(
            "cimis_budget_allocated_cents", "Allocated to teams per call.", ["call"], registry=r
        )
        self.released = Gauge(
            "cimis_budget_released_cents",
            "Released and still with teams per call.",
            ["call"],
            registry=r,
        )
        self.spent = Gauge(
            "cimis_budget_spent_cents", "Approved spending per call.", ["call"], registry=r
        )
        self.paid = Gauge(
            "cimis_budget_paid_cents",
            "Approved spending paid out to the teams per call (the rest is approved, unpaid).",
            ["call"],
            registry=r,
        )
        self.available = Gauge(
            "cimis_budget_pot_available_cents", "Left in the pot per call.", ["call"], registry=r
        )
        self.imbalance = Gauge(
            "cimis_budget_ledger_imbalance_cents",
            "Sum of all ledger balances (must be 0).",
            registry=r,
        )
        self.reconcile_problems = Gauge(
            "cimis_budget_reconcile_problems",
            "Findings of the last reconciliation (must be 0).",
            registry=r,
        )

    async def refresh(self, db: Database) -> None:
        async with db.sessions() as session:
            repo = BudgetQueries(session)
            for pot in await repo.list_pots():
                teams = await repo.teams_of_call(pot.call_id)
                self.pot_total.labels(pot.call_id).set(pot.total_cents)
                self.allocated.labels(pot.call_id).set(pot.allocated_cents)
                self.available.labels(pot.call_id).set(pot.available_cents)
                self.released.labels(pot.call_id).set(
                    sum(t.available_cents + t.pending_cents + t.approved_cents for t in teams)
                )
                self.spent.labels(pot.call_id).set(sum(t.approved_cents for t in teams))
                self.paid.labels(pot.call_id).set(sum(t.paid_cents for t in teams))
        # Its own transaction: reconciliation reads every table from one snapshot.
        async with db.sessions() as session:
            report = await reconcile(session)
        self.imbalance.set(report.imbalance_cents)
        self.reconcile_problems.set(len(report.problems))
        for problem in report.problems[:20]:
            log.error("reconciliation: %s", problem)

    async def run(self, db: Database, every_seconds: float) -> None:
        problems = ThrottledLog(log)  # one trace a minute while the database is down
        while True:
            try:
                await self.refresh(db)
            except Exception as exc:
                problems.report(
                    f"refresh:{type(exc).__name__}",
                    "could not refresh the budget gauges: %r",
                    exc,
                    level=logging.ERROR,
                    exc_info=exc,
                )
            await asyncio.sleep(every_seconds)
