"""Reading rendered objects: by kind, by component, and which pods a policy selects."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from cimis_devtools.kafka_access import SERVICES

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "deploy" / "kubernetes" / "cimis"
CHART_VALUES: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
PORTS = {"intake": 8001, "budget": 8002, "milestones": 8003, "notify": 8004, "outcomes": 8005}
assert set(PORTS) == set(SERVICES)

Obj = dict[str, Any]
_QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi)?$")


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def by_component(objects: list[Obj], kind: str) -> dict[str, Obj]:
    """Objects of ``kind`` by their app.kubernetes.io/component label; one each."""
    found: dict[str, Obj] = {}
    for obj in of_kind(objects, kind):
        component = obj["metadata"]["labels"]["app.kubernetes.io/component"]
        assert component not in found, f"two {kind}s for {component}"
        found[component] = obj
    return found


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def only_container(workload: Obj) -> Obj:
    containers: list[Obj] = pod_spec(workload)["containers"]
    [container] = containers
    return container


def env_of(container: Obj) -> dict[str, Obj]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def mebibytes(quantity: str) -> float:
    match = _QUANTITY.match(quantity)
    assert match, f"unexpected memory quantity {quantity!r}"
    scale = {None: 1 / 2**20, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024}[match.group(2)]
    return int(match.group(1)) * scale


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) matches ``labels``."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        present = expression["key"] in labels
        value = labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def policies_for(objects: list[Obj], labels: dict[str, str], policy_type: str) -> list[Obj]:
    """The NetworkPolicies of ``policy_type`` (Ingress, Egress) that apply to such a pod."""
    return [
        policy
        for policy in of_kind(objects, "NetworkPolicy")
        if policy_type in policy["spec"]["policyTypes"]
        and selects(policy["spec"]["podSelector"], labels)
    ]


def egress_ports(rules: list[Obj]) -> set[tuple[str, int | str]]:
    return {
        (port.get("protocol", "TCP"), port["port"])
        for rule in rules
        for port in rule.get("ports", [])
    }
