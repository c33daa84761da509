"""Budget's settings: the chassis settings with budget's defaults."""

from __future__ import annotations

from pydantic import Field

from cimis_chassis.settings import ServiceSettings


class BudgetSettings(ServiceSettings):
    service_name: str = "budget"
    http_port: int = 8002
    # How often the books are reconciled and the money gauges refreshed.
    reconcile_seconds: float = Field(default=30.0, gt=0)
