#!/usr/bin/env bash
# Builds the binaries the kind node image needs besides Kubernetes' own, pinned, with Go (and gcc
# for pause), into ~/.cache/kplanediag/kind-image/bin: coredns v1.14.2 and etcd v3.6.8 (the
# versions kubeadm v1.36.2 deploys), pause 3.10.2 from Kubernetes' own source, flanneld v0.26.7
# (the newest release whose dependencies the module proxy serves all of; it needs cgo).
set -euo pipefail
out=${KPLANEDIAG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kplanediag}/kind-image/bin
mkdir -p "$out"
say() { printf '[kind-extras] %s\n' "$*" >&2; }
die() { printf '[kind-extras] ERROR: %s\n' "$*" >&2; exit 1; }
export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}

if [ ! -x "$out/coredns" ]; then
  say "coredns v1.14.2"
  CGO_ENABLED=0 GOBIN=$out go install -trimpath -ldflags "-s -w" github.com/coredns/coredns@v1.14.2 || die "coredns build failed"
fi
if [ ! -x "$out/flanneld" ]; then
  say "flanneld v0.26.7"
  tmp=$(mktemp -d)
  CGO_ENABLED=1 GOBIN=$tmp go install -trimpath -ldflags "-s -w" github.com/flannel-io/flannel@v0.26.7 || die "flannel build failed"
  mv "$tmp/flannel" "$out/flanneld"; rm -rf "$tmp"
fi
if [ ! -x "$out/etcd" ]; then
  say "etcd v3.6.8"
  tmp=$(mktemp -d)
  printf 'module tmp/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v3.6.8\n' > "$tmp/go.mod"
  printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$tmp/tools.go"
  (cd "$tmp" && go mod tidy && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3) \
    || die "etcd build failed"
  rm -rf "$tmp"
fi
if [ ! -x "$out/pause" ]; then
  say "pause 3.10.2"
  src=$(go env GOMODCACHE)/k8s.io/kubernetes@v1.36.2/build/pause/linux/pause.c
  [ -f "$src" ] || (cd /tmp && go mod download k8s.io/kubernetes@v1.36.2) || die "cannot fetch k8s.io/kubernetes"
  gcc -static -O2 -DVERSION=3.10.2 -o "$out/pause" "$src" || die "gcc -static pause.c failed"
fi
say "extras ready in $out"
