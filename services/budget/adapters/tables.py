"""Budget's database tables (and, through them, its migrations)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from cimis_chassis.sqltypes import UtcDateTime
from cimis_chassis.tables import BigId, service_metadata
from services.budget.domain.expenses import ACTIVE

metadata, chassis = service_metadata()

pots = Table(
    "pots",
    metadata,
    Column("call_id", String(36), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("max_team_cents", BigInteger, nullable=False),
    Column("plan", JSON, nullable=False),
    Column("available_cents", BigInteger, nullable=False),
    Column("allocated_cents", BigInteger, nullable=False),
    Column("settlement_days", Integer, nullable=False, server_default=text("90")),
    Column("waiting_teams", Integer, nullable=False, server_default=text("0")),
    Column("cost_plan_tolerance_percent", Integer, nullable=False, server_default=text("20")),
    Column("opened_at", UtcDateTime(), nullable=False),
)

team_budgets = Table(
    "team_budgets",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("call_id", String(36), nullable=False, index=True),
    Column("agent_id", String(200), nullable=False),
    Column("title", String(300), nullable=False),
    Column("input_vat_deductible", Boolean, nullable=False),
    Column("requested_cents", BigInteger, nullable=False),
    Column("accepted_at", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("allocated_cents", BigInteger, nullable=False),
    Column("released_cents", BigInteger, nullable=False),
    Column("reserved_cents", BigInteger, nullable=False),
    Column("available_cents", BigInteger, nullable=False),
    Column("pending_cents", BigInteger, nullable=False),
    Column("approved_cents", BigInteger, nullable=False),
    Column("returned_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False, server_default=text("0")),
    Column("released_triggers", JSON, nullable=False),
    Column("completed_milestones", JSON, nullable=False),
    Column("waived_milestones", JSON, nullable=False, server_default=text("'[]'")),
    Column("tranche_withdrawals", JSON, nullable=False, server_default=text("'[]'")),
    Column("thresholds_crossed", JSON, nullable=False),
    Column("refusal_code", String(50), nullable=True),
    Column("refusal_reason", Text, nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("plan_ends_on", Date, nullable=True),
    Column("funding_starts_on", Date, nullable=True),
)

# Milestones completed before budget learned of the team (events of two topics race).
early_completions = Table(
    "early_completions",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("milestone_key", String(20), primary_key=True),
)

expenses = Table(
    "expenses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("team_id", String(36), ForeignKey("team_budgets.team_id"), nullable=False),
    Column("call_id", String(36), nullable=False),
    Column("position", String(30), nullable=False),
    Column("net_cents", BigInteger, nullable=False),
    Column("vat_cents", BigInteger, nullable=False),
    Column("gross_cents", BigInteger, nullable=False),
    Column("fundable_cents", BigInteger, nullable=False),
    # As entered, for display; receipt_key (see domain.expenses.receipt_key) for comparing.
    Column("receipt_number", String(100), nullable=False),
    Column("receipt_key", String(200), nullable=False),
    Column("receipt_date", Date, nullable=False),
    Column("payee", String(300), nullable=False),
    Column("payee_key", String(300), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("submitted_by", String(200), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("rejection_reason", Text, nullable=True),
    Column("reversed_by", String(200), nullable=True),
    Column("reversed_at", UtcDateTime(), nullable=True),
    Column("reversal_reason", Text, nullable=True),
    Column("possible_duplicates", JSON, nullable=True),
    Column("payment_request_id", String(36), nullable=True),
)
# A receipt (number and payee, in any spelling) stands once per team, even against two racing
# submissions; rejected or reversed, it may be entered again.
Index(
    "uq_expenses_standing_receipt",
    expenses.c.team_id,
    expenses.c.receipt_key,
    expenses.c.payee_key,
    unique=True,
    postgresql_where=expenses.c.status.in_(ACTIVE),
    sqlite_where=expenses.c.status.in_(ACTIVE),
)
# The same invoice in another team of the call.
Index("ix_expenses_call_receipt", expenses.c.call_id, expenses.c.receipt_key)
Index("ix_expenses_receipts", expenses.c.team_id, expenses.c.position, expenses.c.receipt_date)

# Every version of every team's cost plan; the one in force is the latest with that status.
cost_plans = Table(
    "cost_plans",
    metadata,
    Column("id", String(60), primary_key=True),
    Column("team_id", String(36), ForeignKey("team_budgets.team_id"), nullable=False),
    Column("call_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("proposed_by", String(200), nullable=False),
    Column("proposed_at", UtcDateTime(), nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
)
Index("uq_cost_plans_version", cost_plans.c.team_id, cost_plans.c.version, unique=True)

bank_accounts = Table(
    "bank_accounts",
    metadata,
    Column("team_id", String(36), ForeignKey("team_budgets.team_id"), primary_key=True),
    Column("account_holder", String(140), nullable=False),
    Column("iban", String(34), nullable=False),
    Column("bic", String(11), nullable=True),
    Column("set_by", String(200), nullable=False),
    Column("set_at", UtcDateTime(), nullable=False),
)

payment_requests = Table(
    "payment_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("team_id", String(36), ForeignKey("team_budgets.team_id"), nullable=False),
    Column("call_id", String(36), nullable=False),
    Column("status", String(20), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("expense_ids", JSON, nullable=False),
    Column("positions", JSON, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("approved_by", String(200), nullable=True),
    Column("approved_at", UtcDateTime(), nullable=True),
    Column("run_id", String(36), nullable=True),
    Column("account_holder", String(140), nullable=True),
    Column("iban", String(34), nullable=True),
    Column("bic", String(11), nullable=True),
    Column("value_date", Date, nullable=True),
    Column("paid_by", String(200), nullable=True),
    Column("paid_at", UtcDateTime(), nullable=True),
    Column("ended_by", String(200), nullable=True),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("end_reason", Text, nullable=True),
)
Index("ix_payment_requests_team", payment_requests.c.team_id, payment_requests.c.requested_at)
Index("ix_payment_requests_status", payment_requests.c.status, payment_requests.c.requested_at)

payment_runs = Table(
    "payment_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("execution_date", Date, nullable=False),
    Column("request_ids", JSON, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# The ledger is append-only: rows are inserted, never updated or deleted (migration 0006 has
# the database refuse UPDATE, DELETE and TRUNCATE with triggers, on PostgreSQL and SQLite).
ledger_transfers = Table(
    "ledger_transfers",
    metadata,
    Column("position", BigId, primary_key=True, autoincrement=True),
    Column("transfer_id", String(120), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("call_id", String(36), nullable=False),
    Column("team_id", String(36), nullable=True),
    Column("expense_id", String(36), nullable=True),
    Column("from_account", String(120), nullable=False),
    Column("to_account", String(120), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("booked_at", UtcDateTime(), nullable=False),
    Column("cause", String(200), nullable=False),
)
Index("ix_ledger_transfers_call", ledger_transfers.c.call_id, ledger_transfers.c.position)
Index("ix_ledger_transfers_team", ledger_transfers.c.team_id, ledger_transfers.c.position)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "transfer_position",
        BigInteger,
        ForeignKey("ledger_transfers.position"),
        nullable=False,
    ),
    Column("account", String(120), nullable=False, index=True),
    Column("amount_cents", BigInteger, nullable=False),
)

# Balances kept with every booking; reconciliation proves them equal to the entries.
ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("account", String(120), primary_key=True),
    Column("call_id", String(36), nullable=False, index=True),
    Column("balance_cents", BigInteger, nullable=False),
)
