"""Monitoring in the chart: Prometheus scrapes each service under the labels the alerts and
dashboards select on, and the alert rules are deploy/prometheus/alerts.yml itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from cimis_devtools.kafka_access import SERVICES
from tests.deploy.support import REPO_ROOT, by_component, of_kind, selects

Render = Callable[[str], list[dict[str, Any]]]
PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"


def test_the_rule_holds_exactly_the_alert_groups_of_deploy_prometheus(rendered: Render) -> None:
    [rule] = of_kind(rendered("default"), "PrometheusRule")

    assert (
        rule["spec"]["groups"] == yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    )


@pytest.mark.parametrize("variant", ["default", "external"])
def test_each_service_is_scraped_as_the_compose_prometheus_scrapes_it(
    rendered: Render, variant: str
) -> None:
    objects = rendered(variant)
    compose = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    [platform] = [job for job in compose["scrape_configs"] if job["job_name"] == "cimis"]
    compose_labels = {target["labels"]["service"] for target in platform["static_configs"]}
    services = by_component(objects, "Service")
    monitors = by_component(objects, "ServiceMonitor")

    assert set(monitors) == set(SERVICES) == compose_labels
    for service, monitor in monitors.items():
        assert selects(monitor["spec"]["selector"], services[service]["metadata"]["labels"])
        [endpoint] = monitor["spec"]["endpoints"]
        assert (endpoint["port"], endpoint["path"]) == ("http", platform["metrics_path"])
        assert services[service]["spec"]["ports"][0]["name"] == "http"
        relabelled = {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"]}
        assert relabelled == {"job": platform["job_name"], "service": service}
