"""Alembic environment of the notify database."""

from cimis_chassis.migrations import run_env
from services.notify.adapters.tables import metadata

run_env(metadata)
