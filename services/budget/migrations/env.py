"""Alembic environment of the budget database."""

from cimis_chassis.migrations import run_env
from services.budget.adapters.tables import metadata

run_env(metadata)
