"""Kafka in the chart: the platform's topics, each service's ACLs exactly as `cimis kafka
access` grants them, and KEDA scaling no further than the partitions allow."""

from __future__ import annotations

import importlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cimis_chassis.kafka import platform_topic_configs
from cimis_contracts.topics import CONSUMES, all_topics
from cimis_devtools.chart_check import CHART_DIR, RELEASE, Variant, render
from cimis_devtools.chart_kafka import (
    CHART_KAFKA_FILE,
    STRIMZI_OPERATIONS,
    render_kafka_definitions,
)
from cimis_devtools.kafka_access import SERVICES, grants_for
from tests.deploy.support import REPO_ROOT, by_component, env_of, of_kind, only_container

Render = Callable[[str], list[dict[str, Any]]]
Acl = tuple[str, str | None, str | None, str]


def test_the_charts_kafka_file_is_generated_from_the_platforms_definitions() -> None:
    assert (REPO_ROOT / CHART_KAFKA_FILE).read_text() == render_kafka_definitions(), (
        f"run `cimis kafka chart --write {CHART_KAFKA_FILE}`"
    )


def _granted(service: str) -> set[Acl]:
    """What the project grants ``service``, in Strimzi's terms."""
    return {
        (
            grant.resource,
            None if grant.resource == "cluster" else grant.name,
            None if grant.resource == "cluster" else ("prefix" if grant.prefixed else "literal"),
            STRIMZI_OPERATIONS[grant.operation],
        )
        for grant in grants_for(service)
    }


def _allowed(user: dict[str, Any]) -> set[Acl]:
    allowed: set[Acl] = set()
    for rule in user["spec"]["authorization"]["acls"]:
        assert rule.get("type", "allow") == "allow"
        assert rule["host"] == "*"
        resource = rule["resource"]
        for operation in rule["operations"]:
            allowed.add(
                (resource["type"], resource.get("name"), resource.get("patternType"), operation)
            )
    return allowed


@pytest.mark.parametrize("variant", ["default", "operators"])
def test_each_kafka_user_has_exactly_the_acls_the_platform_grants(
    rendered: Render, variant: str
) -> None:
    objects = rendered(variant)
    users = by_component(objects, "KafkaUser")
    deployments = by_component(objects, "Deployment")

    assert set(users) == set(SERVICES)
    for service, user in users.items():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert _allowed(user) == _granted(service)
        # The principal the service logs in as is this user.
        env = env_of(only_container(deployments[service]))
        assert env["KAFKA_SASL_USERNAME"]["value"] == user["metadata"]["name"]
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": user["metadata"]["name"],
            "key": "password",
        }
        assert env["KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"


@pytest.mark.parametrize(("variant", "replicas"), [("default", 1), ("operators", 3)])
def test_the_topics_are_the_platforms_with_its_partitions_and_retention(
    rendered: Render, variant: str, replicas: int
) -> None:
    objects = rendered(variant)
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(objects, "KafkaTopic")}

    assert {name: spec["partitions"] for name, spec in topics.items()} == all_topics()
    for spec in topics.values():
        assert spec["config"]["retention.ms"] == platform_topic_configs({})["retention.ms"]
        assert spec["replicas"] == replicas
    # A service that creates its own topic before the operator does creates it alike.
    for deployment in of_kind(objects, "Deployment"):
        env = env_of(only_container(deployment))
        assert env["KAFKA_TOPIC_REPLICATION_FACTOR"]["value"] == str(replicas)
        assert env["KAFKA_TOPIC_RETENTION_MS"]["value"] == "-1"


def test_the_production_kafka_keeps_writes_through_the_loss_of_a_node(rendered: Render) -> None:
    objects = rendered("operators")
    [kafka] = of_kind(objects, "Kafka")
    [pool] = of_kind(objects, "KafkaNodePool")
    [listener] = kafka["spec"]["kafka"]["listeners"]
    config = kafka["spec"]["kafka"]["config"]

    assert pool["spec"]["replicas"] == 3
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert config["min.insync.replicas"] == 2
    assert config["auto.create.topics.enable"] is False
    assert listener["authentication"] == {"type": "scram-sha-512"}
    assert listener["tls"] is True
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}
    for deployment in of_kind(objects, "Deployment"):
        env = env_of(only_container(deployment))
        assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == "cimis-kafka-bootstrap:9093"
        assert env["KAFKA_SSL_CAFILE"]["value"] == "/etc/cimis/kafka-ca/ca.crt"


def _template(helm: Path, *values: str) -> subprocess.CompletedProcess[str]:
    args = [str(helm), "template", RELEASE, str(REPO_ROOT / CHART_DIR)]
    for value in values:
        args += ["--set", value]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_partitions_can_be_raised_but_never_lowered(helm: Path) -> None:
    raised = _template(helm, r"kafka.partitions.cimis\.budget\.v1=12")
    lowered = _template(helm, r"kafka.partitions.cimis\.budget\.v1=3")

    assert raised.returncode == 0, raised.stderr
    assert "topicName: cimis.budget.v1\n  partitions: 12" in raised.stdout
    assert lowered.returncode != 0
    assert "partitions can only be added" in lowered.stderr


def _consumer_group(service: str) -> str:
    settings = importlib.import_module(f"services.{service}.bootstrap").settings_class
    group: str = settings(database_url="sqlite://").consumer_group
    return group


@pytest.mark.parametrize("variant", ["operators-keda", "external-keda"])
def test_keda_scales_each_consumer_on_its_lag_within_its_partitions(
    rendered: Render, variant: str
) -> None:
    objects = rendered(variant)
    scaled = by_component(objects, "ScaledObject")
    deployments = by_component(objects, "Deployment")
    partitions = dict(all_topics())
    for topic in of_kind(objects, "KafkaTopic"):
        partitions[topic["spec"]["topicName"]] = topic["spec"]["partitions"]

    assert set(scaled) == {service for service in SERVICES if CONSUMES.get(service)}
    for service, scaler in scaled.items():
        spec = scaler["spec"]
        assert spec["scaleTargetRef"]["name"] == deployments[service]["metadata"]["name"]
        # KEDA owns the instance count; a replica count in the Deployment would fight it.
        assert "replicas" not in deployments[service]["spec"]
        triggers = spec["triggers"]
        assert [t["metadata"]["topic"] for t in triggers] == list(CONSUMES[service])
        for trigger in triggers:
            metadata = trigger["metadata"]
            assert trigger["type"] == "kafka"
            assert metadata["consumerGroup"] == _consumer_group(service)
            assert metadata["offsetResetPolicy"] == "earliest"
            assert spec["maxReplicaCount"] <= partitions[metadata["topic"]]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]


@pytest.mark.parametrize("variant", ["operators-keda", "external-keda"])
def test_keda_logs_in_as_the_service_itself(rendered: Render, variant: str) -> None:
    objects = rendered(variant)
    auths = by_component(objects, "TriggerAuthentication")
    for service, deployment in by_component(objects, "Deployment").items():
        env = env_of(only_container(deployment))
        auth = auths[service]["spec"]
        [username] = auth["env"]
        assert (username["parameter"], username["name"]) == ("username", "KAFKA_SASL_USERNAME")
        assert username["containerName"] == only_container(deployment)["name"]
        [password] = [ref for ref in auth["secretTargetRef"] if ref["parameter"] == "password"]
        assert {"name": password["name"], "key": password["key"]} == (
            env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        )
        scaler = by_component(objects, "ScaledObject")[service]
        for trigger in scaler["spec"]["triggers"]:
            assert trigger["metadata"]["sasl"] == "scram_sha512"
            assert trigger["metadata"]["tls"] == "enable"
            assert (
                trigger["metadata"]["bootstrapServers"] == env["KAFKA_BOOTSTRAP_SERVERS"]["value"]
            )


def test_keda_may_not_scale_beyond_the_partitions(helm: Path) -> None:
    too_many = _template(helm, "keda.enabled=true", "keda.maxReplicaCount=7")
    after_raising = _template(
        helm,
        "keda.enabled=true",
        "keda.services.budget.maxReplicaCount=12",
        r"kafka.partitions.cimis\.intake\.v1=12",
        r"kafka.partitions.cimis\.milestones\.v1=12",
    )

    assert too_many.returncode != 0
    assert "exceeds the 6 partitions" in too_many.stderr
    assert after_raising.returncode == 0, after_raising.stderr
    assert "maxReplicaCount: 12" in after_raising.stdout


def test_render_refuses_a_service_the_platform_does_not_have(helm: Path) -> None:
    with pytest.raises(RuntimeError, match="not a platform service"):
        render(helm, REPO_ROOT, Variant("typo", sets=("services.intkae.port=8009",)))
