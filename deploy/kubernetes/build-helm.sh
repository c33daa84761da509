#!/usr/bin/env bash
# Builds helm from its source on the Go module proxy into .tools/bin/helm: no binary download,
# and built again only when the version asked for (HELM_VERSION) differs from the one there.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=${HELM_VERSION:-v3.22.0}
bin=${CIMIS_TOOLS_DIR:-$PWD/.tools}/bin
helm=$bin/helm

go=$(command -v go || true)
if [[ -z $go && -x /usr/local/go/bin/go ]]; then
  go=/usr/local/go/bin/go
fi
if [[ -z $go ]]; then
  echo "build-helm: no Go toolchain (go on PATH or /usr/local/go/bin/go) to build helm with" >&2
  exit 1
fi

started=$(date +%s)
# The flags helm's own release build sets (its Makefile): the version `helm version` reports,
# and the Kubernetes version `helm template` and `helm lint` assume, which follows the
# client-go it is built with (v0.37 is Kubernetes 1.37). Without them helm assumes 1.20.
gomod=$("$go" mod download -json "helm.sh/helm/v3@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
client_go=$(awk '$1 == "k8s.io/client-go" { print $2 }' "$gomod")
kube_minor=$(echo "$client_go" | cut -d. -f2)
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
for package in pkg/lint/rules pkg/chartutil; do
  ldflags+=" -X helm.sh/helm/v3/$package.k8sVersionMajor=1"
  ldflags+=" -X helm.sh/helm/v3/$package.k8sVersionMinor=$kube_minor"
done

# What the binary was built from, kept beside it (-trimpath leaves the flags out of its build
# information).
stamp=$bin/.helm-build
wanted="helm.sh/helm/v3@$version $ldflags"
if [[ -x $helm && -f $stamp && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "helm $version: $helm (already built)"
  exit 0
fi

echo "building helm $version (Kubernetes 1.$kube_minor) from the Go module proxy with $("$go" env GOVERSION) ..."
mkdir -p "$bin"
rm -f "$stamp"
GOBIN=$bin CGO_ENABLED=0 "$go" install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$version"
echo "$wanted" >"$stamp"
echo "helm $version built in $(($(date +%s) - started))s: $helm"
