"""The chart's workloads: a Deployment per service as docker-compose.yml runs it, sized from the
benchmark, probed on its health endpoints, with a PDB, its credentials, and its migrations."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from cimis_chassis.kafka import REPLICATION_ENV, RETENTION_ENV
from cimis_devtools.chart_check import VARIANTS
from cimis_devtools.kafka_access import SERVICES
from tests.deploy.support import (
    PORTS,
    REPO_ROOT,
    by_component,
    env_of,
    mebibytes,
    of_kind,
    only_container,
    pod_spec,
    selects,
)

Render = Callable[[str], list[dict[str, Any]]]
ALL_VARIANTS = [variant.name for variant in VARIANTS]
BENCHMARK = REPO_ROOT / "bench" / "results" / "20261130T070517Z.json"
# Read from the environment by the chassis itself rather than through the settings classes.
CHASSIS_ENVIRONMENT = {REPLICATION_ENV, RETENTION_ENV}


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_service_runs_its_own_command_on_its_port(rendered: Render, variant: str) -> None:
    deployments = by_component(rendered(variant), "Deployment")

    assert set(deployments) == set(SERVICES)
    for service, deployment in deployments.items():
        container = only_container(deployment)
        assert container["command"] == ["python", "-m", f"services.{service}.entrypoints.main"]
        assert container["ports"] == [
            {"name": "http", "containerPort": PORTS[service], "protocol": "TCP"}
        ]
        assert env_of(container)["HTTP_PORT"]["value"] == str(PORTS[service])


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_service_is_probed_on_its_health_endpoints(rendered: Render, variant: str) -> None:
    for service, deployment in by_component(rendered(variant), "Deployment").items():
        container = only_container(deployment)
        assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        # A readiness check may take 3 s (database and broker side by side): its timeout
        # must outlast that, or a slow database would take every instance out of service.
        assert container["readinessProbe"]["timeoutSeconds"] > 3, service
        assert container["startupProbe"]["httpGet"]["path"] == "/health/live"


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_memory_requests_cover_what_the_benchmark_measured(rendered: Render, variant: str) -> None:
    measured = json.loads(BENCHMARK.read_text())["e2e"]["memory_after_load_kib"]
    for service, deployment in by_component(rendered(variant), "Deployment").items():
        resources = only_container(deployment)["resources"]
        request = mebibytes(resources["requests"]["memory"])
        limit = mebibytes(resources["limits"]["memory"])
        assert resources["limits"]["cpu"], service
        assert resources["requests"]["cpu"], service
        assert limit >= 2 * request, f"{service}: a full batch needs headroom over the request"
        if service in measured:
            peak = measured[service]["VmHWM"] / 1024
            assert request >= peak, f"{service}: {request} MiB requested, {peak:.0f} MiB measured"


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_service_has_a_disruption_budget_over_its_own_pods(
    rendered: Render, variant: str
) -> None:
    objects = rendered(variant)
    deployments = by_component(objects, "Deployment")
    budgets = by_component(objects, "PodDisruptionBudget")

    assert set(budgets) == set(SERVICES)
    for service, budget in budgets.items():
        pods = deployments[service]["spec"]["template"]["metadata"]["labels"]
        assert selects(budget["spec"]["selector"], pods)
        others = [d for s, d in deployments.items() if s != service]
        assert not any(
            selects(budget["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
            for d in others
        )
        # One instance may always go: a drain proceeds even where a service runs once.
        assert budget["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_variable_the_chart_sets_is_a_setting_of_the_service(
    rendered: Render, variant: str
) -> None:
    for service, deployment in by_component(rendered(variant), "Deployment").items():
        settings = importlib.import_module(f"services.{service}.bootstrap").settings_class
        known = {name.upper() for name in settings.model_fields} | CHASSIS_ENVIRONMENT
        unknown = set(env_of(only_container(deployment))) - known
        assert not unknown, f"{service} reads no {sorted(unknown)}"


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_secrets_reach_the_services_only_by_reference(rendered: Render, variant: str) -> None:
    for service, deployment in by_component(rendered(variant), "Deployment").items():
        env = env_of(only_container(deployment))
        for name in ("DATABASE_URL", "KAFKA_SASL_PASSWORD"):
            assert "value" not in env[name], f"{service}: {name} written into the Deployment"
            assert env[name]["valueFrom"]["secretKeyRef"]["name"], service
        keys = {
            volume["name"]: volume
            for volume in pod_spec(deployment)["volumes"]
            if "secret" in volume
        }
        assert keys["api-keys"]["secret"]["items"] == [
            {"key": "api-keys.json", "path": "api-keys.json"}
        ]
        assert env["CIMIS_API_KEYS_FILE"]["value"] == "/etc/cimis/keys/api-keys.json"


def _secrets_the_cluster_will_hold(objects: list[dict[str, Any]]) -> dict[str, set[str] | None]:
    """Secret name → its keys (None: any), as the chart or its operators will make them."""
    held: dict[str, set[str] | None] = {
        s["metadata"]["name"]: set(s.get("stringData", {})) | set(s.get("data", {}))
        for s in of_kind(objects, "Secret")
    }
    for user in of_kind(objects, "KafkaUser"):
        held[user["metadata"]["name"]] = {"password", "sasl.jaas.config"}
    for kafka in of_kind(objects, "Kafka"):
        held[f"{kafka['metadata']['name']}-cluster-ca-cert"] = {"ca.crt", "ca.p12", "ca.password"}
    for cluster in of_kind(objects, "Cluster"):
        held[f"{cluster['metadata']['name']}-app"] = {"uri", "username", "password", "jdbc-uri"}
    return held


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_secret_a_pod_reads_is_made_by_the_chart_its_operators_or_named_in_values(
    rendered: Render, variant: str
) -> None:
    objects = rendered(variant)
    held = _secrets_the_cluster_will_hold(objects)
    # The ones values-external.yaml names: the operator makes them (kubectl create secret).
    named_in_values = {"cimis-credentials", "kafka-ca"} if variant.startswith("external") else set()
    workloads = of_kind(objects, "Deployment") + of_kind(objects, "Job")
    assert workloads
    for workload in workloads:
        spec = pod_spec(workload)
        references = [
            (env["valueFrom"]["secretKeyRef"]["name"], env["valueFrom"]["secretKeyRef"]["key"])
            for container in spec["containers"]
            for env in container.get("env", [])
            if "secretKeyRef" in env.get("valueFrom", {})
        ] + [
            (volume["secret"]["secretName"], item["key"])
            for volume in spec.get("volumes", [])
            if "secret" in volume
            for item in volume["secret"].get("items", [])
        ]
        for name, key in references:
            if name in named_in_values:
                continue
            assert name in held, f"{workload['metadata']['name']} reads Secret {name}, never made"
            keys = held[name]
            assert keys is None or key in keys, f"{name} has no key {key}"


def _hook(obj: dict[str, Any]) -> tuple[set[str], int]:
    annotations = obj["metadata"].get("annotations", {})
    return (
        set(annotations.get("helm.sh/hook", "").split(",")) - {""},
        int(annotations.get("helm.sh/hook-weight", "0")),
    )


@pytest.mark.parametrize(
    ("variant", "hooks"),
    [
        # The databases exist before the release: migrate before the first install too.
        ("external", {"pre-install", "pre-upgrade"}),
        # CloudNativePG makes them with the release; the services create the first schema.
        ("default", {"pre-upgrade"}),
        ("operators", {"pre-upgrade"}),
    ],
)
def test_each_database_is_migrated_by_a_hook_job_before_new_instances_start(
    rendered: Render, variant: str, hooks: set[str]
) -> None:
    objects = rendered(variant)
    deployments = by_component(objects, "Deployment")
    jobs = by_component(objects, "Job")

    for service in SERVICES:
        job = jobs[f"{service}-migrations"]
        container = only_container(job)
        assert container["command"] == ["cimis", "migrate", service]
        assert _hook(job)[0] == hooks
        assert pod_spec(job)["restartPolicy"] == "Never"
        # The very database the service uses.
        database = env_of(only_container(deployments[service]))["DATABASE_URL"]
        assert env_of(container)["DATABASE_URL"] == database


def test_external_kafka_gets_its_users_acls_and_topics_from_a_hook_before_the_services(
    rendered: Render,
) -> None:
    objects = rendered("external-secret-values")
    jobs = by_component(objects, "Job")
    [secret] = of_kind(objects, "Secret")
    access = jobs["kafka-access"]
    container = only_container(access)
    env = env_of(container)

    assert container["command"] == ["sh", "-c", "cimis kafka access && cimis topics"]
    assert env["KAFKA_SASL_USERNAME"]["value"] == "admin"
    assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "kafka-admin-password"
    for service in SERVICES:
        # The password `cimis kafka access` sets is the one the service logs in with.
        service_env = env_of(only_container(by_component(objects, "Deployment")[service]))
        assert (
            env[f"KAFKA_{service.upper()}_PASSWORD"]["valueFrom"]
            == (service_env["KAFKA_SASL_PASSWORD"]["valueFrom"])
        )
        assert service_env["KAFKA_SASL_USERNAME"]["value"] == service
        # Topics a service creates before the Job look like the ones the Job creates.
        assert (
            service_env["KAFKA_TOPIC_REPLICATION_FACTOR"] == env["KAFKA_TOPIC_REPLICATION_FACTOR"]
        )
    # The Secret exists before either hook Job runs; the Job before the migrations.
    hooks, secret_weight = _hook(secret)
    assert hooks == {"pre-install", "pre-upgrade"}
    assert _hook(access) == ({"pre-install", "pre-upgrade"}, -5)
    assert secret_weight < -5 < _hook(jobs["intake-migrations"])[1]


def test_with_the_operators_no_hook_job_reads_the_chart_secret(rendered: Render) -> None:
    objects = rendered("operators")

    assert "kafka-access" not in by_component(objects, "Job")
    [secret] = of_kind(objects, "Secret")
    # An ordinary release resource then, deleted with the release.
    assert "helm.sh/hook" not in secret["metadata"].get("annotations", {})
    assert set(secret["stringData"]) == {"api-keys.json"}
