"""Imports every contract module so the registry knows all event types."""

from cimis_contracts import budget, intake, milestones, notify, outcomes  # noqa: F401
from cimis_contracts.base import registered_types

__all__ = ["registered_types"]
