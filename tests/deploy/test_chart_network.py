"""NetworkPolicies: only the ingress controller and Prometheus reach a service; a service
reaches DNS, Kafka and its own database, and notify its mail relay and webhooks besides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cimis_devtools.chart_check import VARIANTS
from cimis_devtools.kafka_access import SERVICES
from tests.deploy.support import (
    CHART_VALUES,
    by_component,
    egress_ports,
    of_kind,
    pod_spec,
    policies_for,
    selects,
)

Render = Callable[[str], list[dict[str, Any]]]
ALL_VARIANTS = [variant.name for variant in VARIANTS]
NETWORK = CHART_VALUES["networkPolicy"]
DNS = {("UDP", 53), ("TCP", 53)}


def _pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_pod_of_the_chart_is_denied_all_traffic_by_default(
    rendered: Render, variant: str
) -> None:
    objects = rendered(variant)
    policies = of_kind(objects, "NetworkPolicy")
    [deny] = [p for p in policies if p["metadata"]["name"].endswith("-default-deny")]

    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"]
    assert "egress" not in deny["spec"]
    for workload in of_kind(objects, "Deployment") + of_kind(objects, "Job"):
        assert selects(deny["spec"]["podSelector"], _pod_labels(workload))


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_only_the_ingress_controller_and_prometheus_reach_a_service(
    rendered: Render, variant: str
) -> None:
    objects = rendered(variant)
    for service, deployment in by_component(objects, "Deployment").items():
        rules = [
            rule
            for policy in policies_for(objects, _pod_labels(deployment), "Ingress")
            for rule in policy["spec"].get("ingress", [])
        ]
        peers = [peer for rule in rules for peer in rule["from"]]
        assert peers == NETWORK["ingressControllerPeers"] + NETWORK["prometheusPeers"], service
        # On the HTTP port only (the APIs and /metrics share it).
        assert {(p["protocol"], p["port"]) for rule in rules for p in rule["ports"]} == {
            ("TCP", "http")
        }
        assert all(rule["from"] for rule in rules), f"{service}: a rule admits everyone"


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_a_service_reaches_dns_kafka_and_its_own_database_only(
    rendered: Render, variant: str
) -> None:
    objects = rendered(variant)
    strimzi = bool(of_kind(objects, "Kafka"))
    kafka_tls = False
    if strimzi:
        [kafka] = of_kind(objects, "Kafka")
        [listener] = kafka["spec"]["kafka"]["listeners"]
        kafka_tls = listener["tls"]
    for service, deployment in by_component(objects, "Deployment").items():
        rules = [
            rule
            for policy in policies_for(objects, _pod_labels(deployment), "Egress")
            for rule in policy["spec"].get("egress", [])
        ]
        ports = egress_ports(rules)
        assert ports >= DNS
        if strimzi:
            assert ("TCP", 9093 if kafka_tls else 9092) in ports
            brokers = [
                to["podSelector"]["matchLabels"]
                for rule in rules
                for to in rule.get("to", [])
                if "strimzi.io/cluster" in to.get("podSelector", {}).get("matchLabels", {})
            ]
            assert brokers == [
                {"strimzi.io/cluster": kafka["metadata"]["name"], "strimzi.io/kind": "Kafka"}
            ]
        if of_kind(objects, "Cluster"):
            databases = [
                to["podSelector"]["matchLabels"]["cnpg.io/cluster"]
                for rule in rules
                for to in rule.get("to", [])
                if "cnpg.io/cluster" in to.get("podSelector", {}).get("matchLabels", {})
            ]
            # Its own cluster, not another service's.
            assert databases == [f"cimis-{service}-db"]
        else:
            assert ("TCP", 5432) in ports
        mail_and_webhooks = {("TCP", CHART_VALUES["smtp"]["port"]), ("TCP", 443)}
        if service == "notify":
            assert ports >= mail_and_webhooks
        else:
            assert not ports & mail_and_webhooks, f"{service} may send mail or call out"


def test_notify_calls_only_public_addresses_for_webhooks(rendered: Render) -> None:
    objects = rendered("default")
    notify = by_component(objects, "Deployment")["notify"]
    rules = [
        rule
        for policy in policies_for(objects, _pod_labels(notify), "Egress")
        for rule in policy["spec"].get("egress", [])
        if {"port": 443, "protocol": "TCP"} in rule.get("ports", [])
    ]
    [webhooks] = rules
    [block] = [to["ipBlock"] for to in webhooks["to"]]
    # notify's own guard refuses these; the network refuses them as well.
    assert block["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(
        block["except"]
    )


def test_a_migration_job_reaches_its_service_database_and_the_access_job_kafka(
    rendered: Render,
) -> None:
    objects = rendered("external-secret-values")
    jobs = by_component(objects, "Job")
    for service in SERVICES:
        job = jobs[f"{service}-migrations"]
        rules = [
            rule
            for policy in policies_for(objects, _pod_labels(job), "Egress")
            for rule in policy["spec"].get("egress", [])
        ]
        assert ("TCP", 5432) in egress_ports(rules), service
    access = jobs["kafka-access"]
    rules = [
        rule
        for policy in policies_for(objects, _pod_labels(access), "Egress")
        for rule in policy["spec"].get("egress", [])
    ]
    assert egress_ports(rules) == DNS | {("TCP", 9093)}
    # Its pod runs as the image's unprivileged user like every other.
    assert pod_spec(access)["securityContext"]["runAsNonRoot"] is True
