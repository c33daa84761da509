"""Outcomes' settings: the chassis settings with outcomes' defaults."""

from __future__ import annotations

from cimis_chassis.settings import ServiceSettings


class OutcomesSettings(ServiceSettings):
    service_name: str = "outcomes"
    http_port: int = 8005
    # How often each running team's spending is held against its plan.
    forecast_scan_seconds: float = 3600.0
