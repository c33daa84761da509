"""Alembic environment of the intake database."""

from cimis_chassis.migrations import run_env
from services.intake.adapters.tables import metadata

run_env(metadata)
