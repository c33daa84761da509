"""``make k8s-check``: lint, render and validate the Helm chart in every variant.

helm (built from the Go module proxy into ``.tools/bin`` by deploy/kubernetes/build-helm.sh)
lints and renders ``deploy/kubernetes/cimis`` with each variant's values. Every rendered object
of a kind Kubernetes itself defines is validated offline against that Kubernetes version's
schemas (the ``kubernetes-validate`` package). The operators' kinds (Strimzi, CloudNativePG,
KEDA, Prometheus Operator) have no schema there: they are skipped by name and reported, and
an object of any other unknown kind is an error. The chart's generated Kafka file and its link
to the alert rules are checked as well.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cimis_devtools.chart_kafka import CHART_KAFKA_FILE, render_kafka_definitions
from cimis_devtools.kafka_access import SERVICES

KUBERNETES_DIR = Path("deploy/kubernetes")
CHART_DIR = KUBERNETES_DIR / "cimis"
ALERTS = Path("deploy/prometheus/alerts.yml")
CHART_ALERTS = CHART_DIR / "files" / "alerts.yml"
TOOLS_HELM = Path(".tools/bin/helm")
RELEASE = "cimis"
NAMESPACE = "cimis"
# The oldest Kubernetes the chart's kubeVersion admits, and the one helm renders for (the
# client-go it is built with, see build-helm.sh).
KUBERNETES_VERSIONS = ("1.27.0", "1.37.0")

# Custom resources of the operators the chart builds on, by API group: no Kubernetes schema
# knows them, so they are skipped by name, never because validation failed to find a schema.
OPERATOR_KINDS: dict[str, frozenset[str]] = {
    "kafka.strimzi.io": frozenset({"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}),
    "postgresql.cnpg.io": frozenset({"Cluster"}),
    "keda.sh": frozenset({"ScaledObject", "TriggerAuthentication"}),
    "monitoring.coreos.com": frozenset({"ServiceMonitor", "PrometheusRule"}),
}

# Secret values for rendering the chart-made Secret: placeholders, never used anywhere.
_PLACEHOLDER_SECRETS = (
    "secrets.existingSecret=",
    "secrets.kafkaAdminPassword=placeholder",
    *(f"secrets.kafkaPasswords.{service}=placeholder" for service in SERVICES),
    *(
        f"secrets.databaseUrls.{service}=postgresql://{service}:placeholder@db:5432/{service}"
        for service in SERVICES
    ),
)


@dataclass(frozen=True)
class Variant:
    """One way of installing the chart: values files beside it, and ``--set`` values."""

    name: str
    values: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()

    def helm_args(self, repo: Path) -> list[str]:
        args: list[str] = []
        for values in self.values:
            args += ["--values", str(repo / KUBERNETES_DIR / values)]
        for setting in self.sets:
            args += ["--set", setting]
        return args


VARIANTS = (
    Variant("default"),
    Variant("operators", ("values-operators.yaml",)),
    Variant("external", ("values-external.yaml",)),
    # The same, with the Secret made by the chart from values instead of an existing one.
    Variant("external-secret-values", ("values-external.yaml",), _PLACEHOLDER_SECRETS),
    Variant("operators-keda", ("values-operators.yaml", "values-keda.yaml")),
    Variant("external-keda", ("values-external.yaml", "values-keda.yaml")),
)


class HelmFailed(RuntimeError):
    """helm exited non-zero; the message holds its output."""


def find_helm(repo: Path) -> Path | None:
    """The helm make builds (``.tools/bin/helm``), else one on PATH."""
    built = repo / TOOLS_HELM
    if built.is_file() and os.access(built, os.X_OK):
        return built
    found = shutil.which("helm")
    return Path(found) if found else None


def _helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=120, check=False
    )


def lint(helm: Path, repo: Path, variant: Variant) -> str:
    linted = _helm(helm, "lint", str(repo / CHART_DIR), *variant.helm_args(repo))
    if linted.returncode != 0:
        raise HelmFailed(f"helm lint ({variant.name}):\n{linted.stdout}{linted.stderr}")
    return linted.stdout


def render(
    helm: Path, repo: Path, variant: Variant, extra: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The objects ``helm template`` renders for ``variant`` (hooks included)."""
    rendered = _helm(
        helm,
        "template",
        RELEASE,
        str(repo / CHART_DIR),
        "--namespace",
        NAMESPACE,
        *variant.helm_args(repo),
        *extra,
    )
    if rendered.returncode != 0:
        raise HelmFailed(f"helm template ({variant.name}):\n{rendered.stderr}")
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def is_operator_kind(obj: dict[str, Any]) -> bool:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return obj.get("kind") in OPERATOR_KINDS.get(group, frozenset())


@dataclass
class Validation:
    validated: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def validate(
    objects: Sequence[dict[str, Any]], versions: Sequence[str] = KUBERNETES_VERSIONS
) -> Validation:
    """Validate each core object against each Kubernetes version's schema, strictly (no field
    the schema does not know)."""
    import kubernetes_validate

    result = Validation()
    for obj in objects:
        kind = f"{obj.get('kind')} ({obj.get('apiVersion')})"
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if is_operator_kind(obj):
            result.skipped[kind] += 1
            continue
        errors = []
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as invalid:
                errors.append(f"{name} ({version}): {invalid.message} at {list(invalid.path)}")
            except kubernetes_validate.SchemaNotFoundError:
                errors.append(f"{name}: no Kubernetes {version} schema for {kind}")
        if errors:
            result.errors += errors
        else:
            result.validated[kind] += 1
    return result


def stale_files(repo: Path) -> list[str]:
    """What the chart keeps from elsewhere and no longer matches its source."""
    problems = []
    kafka = repo / CHART_KAFKA_FILE
    if not kafka.is_file() or kafka.read_text() != render_kafka_definitions():
        problems.append(
            f"{CHART_KAFKA_FILE} differs from the platform's topics and ACLs: run "
            f"`cimis kafka chart --write {CHART_KAFKA_FILE}`"
        )
    alerts = repo / CHART_ALERTS
    if not alerts.is_file() or alerts.read_bytes() != (repo / ALERTS).read_bytes():
        problems.append(f"{CHART_ALERTS} is not {ALERTS} (it is a link to it)")
    return problems


def _kinds(counter: Counter[str]) -> str:
    return ", ".join(f"{kind} x{count}" for kind, count in sorted(counter.items())) or "none"


def check(helm: Path, repo: Path) -> bool:
    ok = True
    for problem in stale_files(repo):
        print(f"FAIL {problem}")
        ok = False
    skipped: Counter[str] = Counter()
    for variant in VARIANTS:
        try:
            lint(helm, repo, variant)
            objects = render(helm, repo, variant)
        except HelmFailed as failed:
            print(f"FAIL {failed}")
            ok = False
            continue
        result = validate(objects)
        skipped.update(result.skipped)
        status = "ok  " if not result.errors else "FAIL"
        print(
            f"{status} {variant.name}: helm lint passed, {len(objects)} objects rendered, "
            f"{sum(result.validated.values())} valid against Kubernetes "
            f"{' and '.join(KUBERNETES_VERSIONS)}, "
            f"{sum(result.skipped.values())} operator objects skipped"
        )
        for error in result.errors:
            print(f"       {error}")
        ok = ok and not result.errors
    print(f"skipped (operator kinds without a Kubernetes schema): {_kinds(skipped)}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the repository root")
    parser.add_argument("--helm", type=Path, help="helm to use (default: .tools/bin/helm, PATH)")
    args = parser.parse_args(argv)
    helm = args.helm or find_helm(args.repo)
    if helm is None or not helm.is_file():
        print("no helm: `make helm` builds it into .tools/bin", file=sys.stderr)
        return 1
    started = time.monotonic()
    ok = check(helm, args.repo)
    print(f"k8s-check {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
