"""Alembic environment of the milestones database."""

from cimis_chassis.migrations import run_env
from services.milestones.adapters.tables import metadata

run_env(metadata)
