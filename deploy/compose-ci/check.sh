#!/usr/bin/env bash
# `make compose-check`: the compose deployment for real on this machine. Builds the image from
# deploy/docker/Dockerfile (unchanged) under podman, starts docker-compose.yml with the CI
# override (local stand-ins for the third-party images, host networking), waits for every part
# by polling it, plays one funding story through the stack (scenario.py), stops each service
# with SIGTERM and times it, then takes everything down and checks nothing is left.
#
# Needs root and Debian (apt-get installs podman, runc, mmdebstrap and docker-compose when they
# are missing; without root or apt-get it skips with a message). Binds 127.0.0.1 only, on the
# ports of docker-compose.yml: 8001-8005, 5432, 9092, 9093, 9090, 1025, 8025.
# Kept between runs: podman's image store (the Debian base, rebuilt after 7 days or with
# CIMIS_CI_REBUILD=1, the stand-ins and the image's build cache). Never kept: containers,
# volumes, passwords, API keys, the podman service.
set -euo pipefail
cd "$(dirname "$0")/../.."

root=$PWD
here=deploy/compose-ci
work=$root/var/compose-ci
project=cimis-ci
python=${COMPOSE_CHECK_PYTHON:-$root/.venv/bin/python}
base=localhost/cimis-ci/debian:bookworm
image=localhost/cimis:local
ports=(8001 8002 8003 8004 8005 5432 9092 9093 9090 1025 8025)
services=(intake budget milestones notify outcomes)

say() { printf '[compose-check] %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
timings=()
record() {
  timings+=("$(printf '%-48s %7ss' "$1" "$2")")
  say "$1: ${2}s"
}
check_started=$(now)

# --- tools -------------------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
    say "SKIPPED: ${missing[*]} missing, and installing them needs root and apt-get (Debian)."
    say "SKIPPED: nothing was built or started; the compose deployment is not checked here."
    exit 0
  fi
  step=$(now)
  say "installing from Debian: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  record "apt-get install ${missing[*]}" "$(since "$step")"
fi
if [[ $EUID -ne 0 ]]; then
  say "FAILED: run as root: the check uses rootful podman with host networking, as CI does."
  exit 1
fi
[[ -x $python ]] || { say "FAILED: $python missing: run it as 'make compose-check'"; exit 1; }
for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    say "FAILED: something already listens on 127.0.0.1:$port; stop it (make run? a broker?)"
    exit 1
  fi
done

# podman's defaults fail on these machines (crun under hybrid cgroups, rlimits above the hard
# limits, systemd assumed), and registries are reached through a TLS proxy whose CA is in the
# host's bundle. A file of our own, so the host's /etc/containers stays as it is.
mkdir -p "$work"
export CONTAINERS_CONF=$work/containers.conf
{
  echo '[containers]'
  echo "default_ulimits = [\"nofile=$(ulimit -Hn):$(ulimit -Hn)\", \"nproc=32768:32768\"]"
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    echo 'volumes = ["/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro"]'
  fi
  echo '[engine]'
  echo 'runtime = "runc"'
  # No systemd here to manage cgroups or keep podman's event journal.
  echo 'cgroup_manager = "cgroupfs"'
  echo 'events_logger = "file"'
} >"$CONTAINERS_CONF"

# --- leftovers of an interrupted run -----------------------------------------------------------
label=label=com.docker.compose.project=$project
podman ps -aq --filter "$label" | xargs -r podman rm -f >/dev/null
podman volume ls -q --filter "$label" | xargs -r podman volume rm -f >/dev/null

# --- images ------------------------------------------------------------------------------------
# The Debian base of the stand-ins and of the python:3.11-slim stand-in, from Debian's packages:
# bookworm with its updates and security fixes, no docs, man pages or translations (as Debian's
# slim images), merged /usr through usr-is-merged (usrmerge would pull in Perl, 50 MB), and
# services never started by a package's install (policy-rc.d, as in Debian's images).
base_age_days=999
if podman image exists "$base"; then
  created=$(podman image inspect --format '{{.Created.Unix}}' "$base")
  base_age_days=$(( ($(date +%s) - created) / 86400 ))
fi
if [[ -n ${CIMIS_CI_REBUILD:-} ]] || ((base_age_days >= 7)); then
  step=$(now)
  say "making $base with mmdebstrap"
  mmdebstrap --quiet --variant=apt --include=python3,python3-venv,ca-certificates,passwd \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --skip=chroot/policy-rc.d \
    --setup-hook='mkdir -p "$1/usr/sbin"' \
    --setup-hook='printf "#!/bin/sh\nexit 101\n" >"$1/usr/sbin/policy-rc.d"' \
    --setup-hook='chmod 755 "$1/usr/sbin/policy-rc.d"' \
    bookworm - \
    'deb http://deb.debian.org/debian bookworm main' \
    'deb http://deb.debian.org/debian bookworm-updates main' \
    'deb http://deb.debian.org/debian-security bookworm-security main' \
    | podman import -q \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' - "$base" >/dev/null
  record "Debian base (mmdebstrap)" "$(since "$step")"
fi

build() {  # build TAG CONTEXT [podman build options]
  local tag=$1 context=$2
  shift 2
  podman build -q --network host --format docker -t "$tag" "$@" "$context" >/dev/null
}

step=$(now)
build docker.io/library/python:3.11-slim "$here/python"
# Kafka's context: its Dockerfile and entrypoint, the tests' log4j configuration and the jars
# `cimis kafka fetch` keeps (Maven Central, fetched once for the tests and this check).
jars=$("$python" -c 'from cimis_devtools.kafka_local import fetch_jars; print(fetch_jars())')
rm -rf "$work/kafka-context"
mkdir -p "$work/kafka-context"
cp "$here/kafka/Dockerfile" "$here/kafka/entrypoint.py" \
  libs/cimis_devtools/kafka/log4j2.properties "$work/kafka-context/"
cp -r "$jars" "$work/kafka-context/libs"
build localhost/cimis-ci/kafka:4.1.1-openjdk17 "$work/kafka-context"
build localhost/cimis-ci/postgres:15-bookworm "$here/postgres"
build localhost/cimis-ci/prometheus:2.42-bookworm "$here/prometheus"
build localhost/cimis-ci/mailsink:bookworm "$here/mailpit"
record "stand-in images (python, kafka, postgres, ...)" "$(since "$step")"
say "grafana: not in Debian, so no stand-in; the override's profile leaves it out of this run"

step=$(now)
say "building $image from deploy/docker/Dockerfile"
build "$image" . -f deploy/docker/Dockerfile
build_seconds=$(since "$step")
record "cimis image build" "$build_seconds"
image_bytes=$(podman image inspect --format '{{.Size}}' "$image")
python_bytes=$(podman image inspect --format '{{.Size}}' docker.io/library/python:3.11-slim)

# --- the stack ---------------------------------------------------------------------------------
# Fresh passwords every run: .env.example with each change-me value replaced.
env_file=$work/ci.env
(
  umask 077
  while IFS= read -r line; do
    if [[ $line =~ ^([A-Z0-9_]+)=change-me ]]; then
      echo "${BASH_REMATCH[1]}=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    else
      echo "$line"
    fi
  done <.env.example >"$env_file"
)

# docker-compose 1.29 refuses published ports on the host's network ("host" network_mode is
# incompatible with port_bindings), and an override cannot take list entries away. So the two
# files are merged by docker-compose itself and only `ports:` is dropped from the result (a
# container on the host's network has nothing to publish); every command below runs on that.
resolved=$work/compose.resolved.yml
(
  umask 077
  docker-compose --project-directory "$root" --env-file "$env_file" \
    -f docker-compose.yml -f "$here/docker-compose.ci.yml" config >"$resolved.merged"
  "$python" - "$resolved.merged" "$resolved" <<'PY'
import sys
import yaml

with open(sys.argv[1]) as merged:
    config = yaml.safe_load(merged)
for service in config["services"].values():
    if service.get("network_mode") == "host":
        service.pop("ports", None)
with open(sys.argv[2], "w") as resolved:
    yaml.safe_dump(config, resolved, sort_keys=False)
PY
  rm "$resolved.merged"
)

socket=$(mktemp -u /tmp/cimis-compose-ci.XXXXXX.sock)
# Its log holds the healthcheck timers it cannot create without systemd: shown on failure only.
podman system service --time=0 "unix://$socket" 2>"$work/podman-service.log" &
service_pid=$!
export DOCKER_HOST=unix://$socket
compose() {
  docker-compose --project-name "$project" --project-directory "$root" -f "$resolved" "$@"
}
# A service's container, by compose's labels (podman answers in a tenth of docker-compose's time).
container_of() {
  podman ps -q --filter "$label" --filter "label=com.docker.compose.service=$1" </dev/null
}
stack_up=0
finish() {
  local status=$?
  trap - EXIT
  if ((status != 0)) && ((stack_up)); then
    say "FAILED: the last lines of each container's log, then of the podman service's:"
    compose logs --no-color --tail 40 || true
    tail -n 20 "$work/podman-service.log" || true
  fi
  if ((stack_up)); then
    compose down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1 || true
  fi
  kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null || true
  rm -f "$socket" "$work/admin-api-key.txt" "$env_file" "$resolved" "$resolved.merged"
  exit "$status"
}
trap finish EXIT
for _ in $(seq 50); do [[ -S $socket ]] && break; sleep 0.1; done

step=$(now)
say "starting the stand-ins: kafka, postgres, mailpit, prometheus (not grafana)"
stack_up=1
compose up --detach --no-deps kafka postgres mailpit prometheus
# No healthcheck conditions (podman runs them from systemd timers, absent here): the parts are
# polled from outside, then each step is started by name with --no-deps.
"$python" "$here/scenario.py" wait-tcp kafka=127.0.0.1:9092 postgres=127.0.0.1:5432 \
  mailpit-smtp=127.0.0.1:1025
"$python" "$here/scenario.py" wait-http http://127.0.0.1:8025/readyz http://127.0.0.1:9090/-/ready
record "infrastructure up and ready" "$(since "$step")"

step=$(now)
compose run --rm -T --no-deps intake cimis keys create --role admin --principal admin \
  >"$work/admin-api-key.txt"
compose run --rm -T --no-deps topics
compose up --detach --no-deps "${services[@]}"
urls=()
for port in 8001 8002 8003 8004 8005; do urls+=("http://127.0.0.1:$port/health/ready"); done
"$python" "$here/scenario.py" wait-http "${urls[@]}"
record "keys, topics job, five services ready" "$(since "$step")"

# The health checks, run by hand (podman runs them from systemd timers, absent here): the
# image's HEALTHCHECK (/health/live on $HTTP_PORT) and compose's readiness check, each executed
# in every service container as the runtime would. Not `podman healthcheck run`: podman 4.3's
# Docker API splits a ["CMD", ...] check at every space, so compose's would fail under podman
# only (Docker keeps the arguments).
step=$(now)
image_check=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$image")
health_checks=$("$python" - "$resolved" "$image_check" <<'PY'
import json
import shlex
import sys

import yaml

def shell(test: list[str]) -> str:
    return shlex.join(test[1:]) if test[0] == "CMD" else test[1]

services = yaml.safe_load(open(sys.argv[1]))["services"]
image_check = json.loads(sys.argv[2] or "null") or {}
if "/health/live" not in " ".join(image_check.get("Test") or []):
    sys.exit(f"the image has no HEALTHCHECK on /health/live: {image_check}")
for name in ("intake", "budget", "milestones", "notify", "outcomes"):
    print(f"{name}\t{shell(image_check['Test'])}")
    print(f"{name}\t{shell(services[name]['healthcheck']['test'])}")
PY
)
while IFS=$'\t' read -r service command; do
  if ! podman exec "$(container_of "$service")" sh -c "$command" </dev/null; then
    say "FAILED: $service: the health check failed in its container: $command"
    exit 1
  fi
done <<<"$health_checks"
record "health checks (image's and compose's, x5)" "$(since "$step")"

step=$(now)
"$python" "$here/scenario.py" play --key-file "$work/admin-api-key.txt"
scenario_seconds=$(since "$step")
record "scenario" "$scenario_seconds"

# SIGTERM: `podman stop -t 10` sends it and kills after 10 s; a clean stop exits well before.
sigterm_started=$(now)
stops=()
for service in "${services[@]}"; do
  container=$(container_of "$service")
  step=$(now)
  # (Without systemd podman reports the healthcheck timer it cannot remove: not an error.)
  podman stop --time 10 "$container" 2> >(grep -v 'systemd connection' >&2) >/dev/null
  seconds=$(since "$step")
  code=$(podman inspect --format '{{.State.ExitCode}}' "$container")
  stops+=("$service ${seconds}s (exit $code)")
  if [[ $code == 137 ]] || awk -v s="$seconds" 'BEGIN { exit !(s >= 9.5) }'; then
    say "FAILED: $service did not stop on SIGTERM: ${seconds}s, exit code $code"
    exit 1
  fi
done
say "SIGTERM stop times: ${stops[*]}"
record "SIGTERM stops of the five services" "$(since "$sigterm_started")"

step=$(now)
compose down --volumes --remove-orphans --timeout 10
stack_up=0
left=$(podman ps -aq --filter "$label"; podman volume ls -q --filter "$label")
if [[ -n $left ]]; then
  say "FAILED: left behind after down: $left"
  exit 1
fi
kill "$service_pid" && { wait "$service_pid" || true; }
record "down (containers, volumes, podman service)" "$(since "$step")"
say "podman ps -a after down:"
podman ps -a

say "summary"
printf '  %s\n' "${timings[@]}"
printf '  %-48s %7ss\n' "compose-check in all" "$(since "$check_started")"
awk -v i="$image_bytes" -v p="$python_bytes" 'BEGIN {
  printf "  image %s: %.0f MB, %.0f MB over its python:3.11-slim stand-in of %.0f MB\n",
    "localhost/cimis:local", i / 1e6, (i - p) / 1e6, p / 1e6 }'
say "passed: build ${build_seconds}s, scenario ${scenario_seconds}s"
