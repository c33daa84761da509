"""Wires the budget service: settings, database, broker, consumer, relay, gauges and HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cimis_chassis.clock import Clock, SystemClock
from cimis_chassis.host_factory import build_service_host
from cimis_chassis.migrations import upgrade_to_head
from cimis_chassis.service_host import ServiceHost, create_http_app
from cimis_contracts.budget import (
    AllocationRefusedV1,
    BudgetAllocatedV1,
    BudgetClosedV1,
    CostPlanChangedV1,
    ExpenseApprovedV1,
    ExpenseRejectedV1,
    ExpenseReversedV1,
    ExpenseSubmittedV1,
    PaymentRequestChangedV1,
    ThresholdCrossedV1,
    TrancheKeptV1,
    TrancheReleasedV1,
    TrancheWithdrawnV1,
)
from services.budget.adapters.metrics import BudgetGauges
from services.budget.adapters.tables import chassis
from services.budget.adapters.unit_of_work import SqlBudgetUnitOfWork
from services.budget.entrypoints import api, cost_plan_api, export_api, payout_api
from services.budget.entrypoints.consumer import CONSUMED_TOPICS, budget_consumer
from services.budget.settings import BudgetSettings

MIGRATIONS = Path(__file__).parent / "migrations"
settings_class = BudgetSettings


def build_host(settings: BudgetSettings, clock: Clock) -> ServiceHost:
    host = build_service_host(
        settings,
        clock,
        chassis,
        publishes=[
            BudgetAllocatedV1,
            AllocationRefusedV1,
            TrancheReleasedV1,
            TrancheWithdrawnV1,
            TrancheKeptV1,
            ExpenseSubmittedV1,
            ExpenseApprovedV1,
            ExpenseRejectedV1,
            ExpenseReversedV1,
            ThresholdCrossedV1,
            BudgetClosedV1,
            CostPlanChangedV1,
            PaymentRequestChangedV1,
        ],
        consumes=CONSUMED_TOPICS,
        unit_of_work=SqlBudgetUnitOfWork,
    )
    budget_consumer(host).register(host.broker)
    gauges = BudgetGauges(host.metrics)

    async def refresh_gauges() -> None:
        await gauges.run(host.db, settings.reconcile_seconds)

    host.background.append(refresh_gauges)
    return host


def create_app(settings: BudgetSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or BudgetSettings()
    upgrade_to_head(MIGRATIONS, settings.database_url)
    host = build_host(settings, clock or SystemClock())
    return create_http_app(
        host,
        title="CIMIS budget",
        description="The programme pot, team allocations, tranches, expenses and the ledger.",
        routers=[api.router, cost_plan_api.router, payout_api.router, export_api.router],
    )
