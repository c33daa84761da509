"""The services of the platform, their default ports and how to start one."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int

    @property
    def module(self) -> str:
        return f"services.{self.name}.entrypoints.main"

    def exists(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:  # the service's package is not there at all
            return False


SERVICES = (
    ServiceSpec("intake", 8001),
    ServiceSpec("budget", 8002),
    ServiceSpec("milestones", 8003),
    ServiceSpec("notify", 8004),
    ServiceSpec("outcomes", 8005),
)


def available_services() -> list[ServiceSpec]:
    """The services this checkout has (they arrive one issue at a time)."""
    return [s for s in SERVICES if s.exists()]


# The documented broker address: the one docker-compose.yml gives the services.
DOCUMENTED_BOOTSTRAP = "kafka:9092"


def asyncapi_yaml(service: str) -> str:
    """Build the service's broker without connecting and render its AsyncAPI document."""
    from cimis_chassis.clock import SystemClock
    from cimis_contracts.asyncapi import render_asyncapi

    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    settings = bootstrap.settings_class(
        kafka_bootstrap_servers=DOCUMENTED_BOOTSTRAP,
        database_url="sqlite:///:memory:",
        # Placeholders: the document shows the SASL/SCRAM scheme, never a credential.
        kafka_sasl_username=service,
        kafka_sasl_password="<from the service's client file>",  # noqa: S106 - a placeholder
    )
    host = bootstrap.build_host(settings, SystemClock())
    return render_asyncapi(host.broker, service)


def migrate(service: str, database_url: str) -> None:
    """Bring ``service``'s database to its newest schema, as the service does when it starts.

    Run on its own before new instances start (a Kubernetes Job), so that an upgrade's
    migration runs once and a failing one stops the rollout instead of every new instance.
    """
    from cimis_chassis.migrations import upgrade_to_head

    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    upgrade_to_head(bootstrap.MIGRATIONS, database_url)
