"""Alembic environment of the outcomes database."""

from cimis_chassis.migrations import run_env
from services.outcomes.adapters.tables import metadata

run_env(metadata)
