#!/usr/bin/env bash
# Creates (up) or deletes (down) the kind cluster of kind-config.yaml (or $KIND_CONFIG), then waits
# for Ready nodes.
# With a running Docker engine (DOCKER_HOST or the default socket) it uses kind-config.yaml's
# official node image. Without one (these machines) it starts Debian's docker.io by hand
# (lab/kind/docker.sh) and builds the node image offline (lab/kind/build-extras.sh, build-image.sh).
# KPLANEDIAG_KIND_IMAGE=local forces the offline image. kind itself is built with Go if absent.
# Environment: KIND_NAME (default kplanediag), KIND_KUBECONFIG (where the kubeconfig is written),
# KIND_CONFIG (default kind-config.yaml; kind-ha-config.yaml with KIND_NAME=kplanediag-ha and
# KIND_KUBECONFIG=~/.cache/kplanediag/kind-ha/kubeconfig is the highly available cluster: several
# control-plane nodes, so kind adds its load balancer, built offline by lab/kind/build-lb-image.sh).
# Writes $cache/kind/docker-host so that fault helpers talk to the same engine (one for all clusters).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=versions.env
. "$here/versions.env"
name=${KIND_NAME:-kplanediag}
cache=${KPLANEDIAG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kplanediag}
kubeconfig=${KIND_KUBECONFIG:-$cache/kind/kubeconfig}
config=${KIND_CONFIG:-kind-config.yaml}
case "$config" in /*) ;; *) config=$root/$config ;; esac
[ -f "$config" ] || { printf '[kind] ERROR: no kind config %s\n' "$config" >&2; exit 1; }
control_planes=$(grep -c '^- role: control-plane' "$config" || true)
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

engine() { # sets DOCKER_HOST, image_args, fresh_engine
  image_args=()
  fresh_engine=0
  if [ "${KPLANEDIAG_KIND_IMAGE:-}" != local ] && docker info >/dev/null 2>&1; then
    say "using the running Docker engine and the official node image"
    return
  fi
  DOCKER_HOST=unix:///run/kplanediag/docker.sock /usr/bin/docker info >/dev/null 2>&1 || fresh_engine=1
  eval "$("$here/kind/docker.sh" up)"
  export DOCKER_HOST
  docker() { /usr/bin/docker "$@"; }  # Debian's client matches its 20.10 engine
  "$here/kind/build-extras.sh"
  "$here/kind/build-image.sh"
  if [ "$control_planes" -gt 1 ]; then "$here/kind/build-lb-image.sh"; fi  # kind's load balancer image
  image_args=(--image "kplanediag/kind-node:$KUBE_VERSION")
}

case "${1:-}" in
  up)
    kind=$(kind_bin)
    engine
    mkdir -p "$(dirname "$kubeconfig")" "$cache/kind"
    echo "${DOCKER_HOST:-}" > "$cache/kind/docker-host"
    # a node left paused by an interrupted fault test (lab/kindctl.py, lab/kindha.py)
    for paused in $(docker ps -q --filter "label=io.x-k8s.kind.cluster=$name" --filter status=paused 2>/dev/null); do
      say "unpausing node container $(docker inspect -f '{{.Name}}' "$paused")"; docker unpause "$paused" >/dev/null
    done
    if "$kind" get clusters 2>/dev/null | grep -qx "$name" && { [ "$fresh_engine" = 1 ] \
        || [ "$(docker inspect -f '{{.State.Running}}' "$name-control-plane" 2>/dev/null)" != true ]; }; then
      say "cluster $name is left from an engine that stopped: recreating it"
      "$kind" delete cluster --name "$name" --kubeconfig "$kubeconfig"
    fi
    if "$kind" get clusters 2>/dev/null | grep -qx "$name"; then
      say "cluster $name exists"
      "$kind" export kubeconfig --name "$name" --kubeconfig "$kubeconfig"
    else
      start=$SECONDS
      "$kind" create cluster --name "$name" --config "$config" "${image_args[@]}" \
        --kubeconfig "$kubeconfig" --wait 5m
      say "cluster created in $((SECONDS - start)) s"
    fi
    kubectl=$(command -v kubectl || true)
    [ -f "$cache/lab/bin-dir" ] && kubectl="$(cat "$cache/lab/bin-dir")/kubectl"
    ready() {
      "$kubectl" --kubeconfig "$kubeconfig" wait --for=condition=Ready nodes --all --timeout=5s >/dev/null 2>&1 \
        && "$kubectl" --kubeconfig "$kubeconfig" -n kube-system rollout status deploy/coredns --timeout=5s >/dev/null 2>&1
    }
    for _ in $(seq 60); do ready && break; sleep 2; done
    ready || die "nodes or CoreDNS not ready after 6 minutes"
    say "all nodes Ready, CoreDNS rolled out"
    if [ ${#image_args[@]} -gt 0 ]; then
      # a real lookup from a pod: cluster DNS through the kube-dns Service (kube-proxy) and the CNI
      k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }
      k delete pod kplanediag-dns-probe --ignore-not-found >/dev/null
      k run kplanediag-dns-probe --image="registry.k8s.io/kube-proxy:$KUBE_VERSION" --image-pull-policy=Never \
        --restart=Never --command -- getent hosts kubernetes.default.svc.cluster.local >/dev/null
      for _ in $(seq 60); do
        phase=$(k get pod kplanediag-dns-probe -o jsonpath='{.status.phase}' 2>/dev/null || true)
        case "$phase" in Succeeded|Failed) break ;; esac; sleep 1
      done
      answer=$(k logs kplanediag-dns-probe 2>/dev/null || true)
      k delete pod kplanediag-dns-probe --wait=false >/dev/null
      [ "$phase" = Succeeded ] || die "CoreDNS did not answer a lookup from a pod (phase ${phase:-unknown}): $answer"
      say "CoreDNS answers: $answer"
    fi
    say "kubeconfig: $kubeconfig"
    ;;
  down)
    kind=$(kind_bin)
    host=$(cat "$cache/kind/docker-host" 2>/dev/null || true)
    [ -n "$host" ] && export DOCKER_HOST=$host
    "$kind" delete cluster --name "$name" --kubeconfig "$kubeconfig"
    ;;
  *) die "usage: lab/kind.sh up|down" ;;
esac
