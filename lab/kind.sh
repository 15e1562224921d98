#!/usr/bin/env bash
# Creates (up) or deletes (down) the kind cluster of kind-config.yaml. Needs a running Docker
# engine; kind itself is built with Go at the pinned version if it is not installed.
# Environment: KIND_NAME (default kplanediag), KIND_KUBECONFIG (where the kubeconfig is written).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=versions.env
. "$here/versions.env"
name=${KIND_NAME:-kplanediag}
cache=${KPLANEDIAG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kplanediag}
kubeconfig=${KIND_KUBECONFIG:-$cache/kind/kubeconfig}
say() { printf '[kind] %s\n' "$*" >&2; }
die() { printf '[kind] ERROR: %s\n' "$*" >&2; exit 1; }

kind_bin() {
  if command -v kind >/dev/null; then command -v kind; return; fi
  local bin="$cache/kind-$KIND_VERSION/kind"
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || die "kind is not installed and Go is not there to build it"
    say "building kind $KIND_VERSION with Go"
    GOBIN="$(dirname "$bin")" CGO_ENABLED=0 go install "sigs.k8s.io/kind@$KIND_VERSION" \
      || die "go install sigs.k8s.io/kind@$KIND_VERSION failed"
  fi
  echo "$bin"
}

case "${1:-}" in
  up)
    docker info >/dev/null 2>&1 || die "no Docker engine is running, and kind needs one. \
Use the lab cluster instead (make cluster-up). Running kind offline on machines without Docker is a separate issue."
    kind=$(kind_bin)
    mkdir -p "$(dirname "$kubeconfig")"
    if "$kind" get clusters 2>/dev/null | grep -qx "$name"; then
      say "cluster $name exists"
      "$kind" export kubeconfig --name "$name" --kubeconfig "$kubeconfig"
    else
      "$kind" create cluster --name "$name" --config "$root/kind-config.yaml" --kubeconfig "$kubeconfig" --wait 5m
    fi
    say "kubeconfig: $kubeconfig"
    ;;
  down)
    kind=$(kind_bin)
    "$kind" delete cluster --name "$name" --kubeconfig "$kubeconfig"
    ;;
  *) die "usage: lab/kind.sh up|down" ;;
esac
