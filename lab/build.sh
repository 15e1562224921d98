#!/usr/bin/env bash
# Builds the lab cluster's binaries from pinned upstream Go modules, into a cache outside the repo:
# kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes), etcd (go.etcd.io),
# kwok and kwokctl (sigs.k8s.io/kwok). Idempotent: a binary already built at its version is kept.
# Prints the bin directory on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

cache_root=${KPLANEDIAG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kplanediag}
bin="$cache_root/k8s-$KUBE_VERSION-kwok-$KWOK_VERSION-etcd-$ETCD_VERSION/bin"
mkdir -p "$bin"

say() { printf '[lab-build] %s\n' "$*" >&2; }
die() { printf '[lab-build] ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed (need Go >= 1.26 on PATH)"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "${go_minor:-0}" -ge 26 ] || die "Go $(go env GOVERSION) is too old: kubernetes $KUBE_VERSION and kwok $KWOK_VERSION need go1.26+"

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}

# Builds are skipped when the stamp file records the same version and module checksum.
up_to_date() { # name stamp
  [ -x "$bin/$1" ] && [ -f "$bin/.$1.stamp" ] && [ "$(cat "$bin/.$1.stamp")" = "$2" ]
}

build_kubernetes() {
  local mod="$here/go/kubernetes" stamp names=(kube-apiserver kube-controller-manager kube-scheduler kubectl "$@")
  stamp="$KUBE_VERSION $(cat "$mod/go.sum" | sha256sum | cut -c1-16)"
  local todo=()
  for n in "${names[@]}"; do up_to_date "$n" "$stamp" || todo+=("$n"); done
  if [ ${#todo[@]} -eq 0 ]; then say "kubernetes $KUBE_VERSION: cached"; return; fi
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor \
-X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  for n in "${todo[@]}"; do
    say "building $n $KUBE_VERSION (cold: several minutes on 2 cores)"
    local t0=$SECONDS
    (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$bin/$n.tmp" "k8s.io/kubernetes/cmd/$n") \
      || die "go build of $n failed (is the Go module proxy reachable?)"
    mv "$bin/$n.tmp" "$bin/$n"; echo "$stamp" > "$bin/.$n.stamp"
    say "built $n in $((SECONDS - t0)) s"
  done
}

build_etcd() {
  local mod="$here/go/etcd" stamp
  stamp="$ETCD_VERSION $(sha256sum < "$mod/go.sum" | cut -c1-16)"
  if up_to_date etcd "$stamp"; then say "etcd $ETCD_VERSION: cached"; return; fi
  say "building etcd $ETCD_VERSION"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3) \
    || die "go build of etcd failed (is the Go module proxy reachable?)"
  mv "$bin/etcd.tmp" "$bin/etcd"; echo "$stamp" > "$bin/.etcd.stamp"
}

build_kwok() {
  local n
  for n in kwok kwokctl; do
    if up_to_date "$n" "$KWOK_VERSION"; then say "$n $KWOK_VERSION: cached"; continue; fi
    say "building $n $KWOK_VERSION"
    GOBIN="$bin/.gobin" go install -trimpath \
      -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/$n@$KWOK_VERSION" \
      || die "go install of sigs.k8s.io/kwok/cmd/$n@$KWOK_VERSION failed (is the Go module proxy reachable?)"
    mv "$bin/.gobin/$n" "$bin/$n"; echo "$KWOK_VERSION" > "$bin/.$n.stamp"
  done
}

t_start=$SECONDS
build_etcd
build_kwok
build_kubernetes "$@"
say "all binaries ready in $((SECONDS - t_start)) s"
echo "$bin"
