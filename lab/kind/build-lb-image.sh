#!/usr/bin/env bash
# Builds, offline, the image kind runs as the external load balancer of a cluster with several
# control-plane nodes (kind-ha-config.yaml). kind v0.32.0 no longer uses kindest/haproxy: it runs
# the image named in its source (pkg/cluster/internal/loadbalancer/const.go, read here from kind's
# Go module: docker.io/envoyproxy/envoy:v1.36.2) as
#   bash -c 'mkdir -p /home/envoy && echo -en ... > /home/envoy/envoy.yaml ... envoy -c /home/envoy/envoy.yaml'
# and later writes the listener (LDS) and cluster (CDS) files with `cp /dev/stdin`, chmod and mv.
# Docker Hub is out of reach, and Envoy cannot be built here (Bazel, hours), so the image holds
# envoy-lite (lab/kind/envoy-lite/main.go): a Go program that reads that bootstrap and those files
# and does with them what Envoy does (TCP proxy, STRICT_DNS, active TLS health checks of /healthz, round robin, panic mode),
# plus bash and the coreutils kind calls, copied with their libraries from the node rootfs that
# build-image.sh debootstraps. It is tagged with kind's exact image name, so `docker run` finds it
# locally and never pulls. Cached: rebuilt only when this script, kind's version or the rootfs change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lab=$(dirname "$here")
# shellcheck source=../versions.env
. "$lab/versions.env"
start=$SECONDS
cache=${KPLANEDIAG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kplanediag}/kind-image
rootfs=$cache/rootfs-node
out=$cache/lb
say() { printf '[kind-lb] %s\n' "$*" >&2; }
die() { printf '[kind-lb] ERROR: %s\n' "$*" >&2; exit 1; }
docker_() { /usr/bin/docker "$@"; }
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/kplanediag/docker.sock}
export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}

kindsrc=$(go env GOMODCACHE)/sigs.k8s.io/kind@$KIND_VERSION
[ -d "$kindsrc" ] || (cd /tmp && go mod download "sigs.k8s.io/kind@$KIND_VERSION") || die "cannot fetch kind's module"
image=$(sed -n 's/^const Image = "\(.*\)"$/\1/p' "$kindsrc/pkg/cluster/internal/loadbalancer/const.go")
case "$image" in
  */envoyproxy/envoy:*) ;;
  *) die "kind $KIND_VERSION's load balancer image is '${image:-?}', not Envoy: this script only stands in for Envoy" ;;
esac
[ -f "$rootfs/.done" ] || die "$rootfs missing: build the node image first (lab/kind/build-image.sh)"

stamp=$( (cat "$0" "$here/envoy-lite/main.go" "$rootfs/.done"; echo "$KIND_VERSION $image") | sha256sum | cut -c1-16)
if [ "$(docker_ image inspect -f '{{index .Config.Labels "kplanediag.lb-stamp"}}' "$image" 2>/dev/null)" = "$stamp" ]; then
  say "load-balancer image $image is up to date ($((SECONDS - start)) s)"
  exit 0
fi

say "building envoy-lite with Go"
src=$out/src
rm -rf "$src"; mkdir -p "$src"
printf 'module kplanediag.local/envoy-lite\n\ngo 1.26\n\nrequire go.yaml.in/yaml/v3 v3.0.4\n' > "$src/go.mod"
cp "$here/envoy-lite/main.go" "$src/main.go"
(cd "$src" && go mod tidy && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/envoy" .) \
  || die "building envoy-lite failed"

say "assembling the image filesystem"
fs=$(mktemp -d)
trap 'rm -rf "$fs"' EXIT
mkdir -p "$fs/usr/bin" "$fs/usr/local/bin" "$fs/lib64" "$fs/etc" "$fs/tmp" "$fs/home/envoy" "$fs/root"
chmod 1777 "$fs/tmp"
ln -s usr/bin "$fs/bin"; ln -s usr/lib "$fs/lib"
tools=(bash dash cp mkdir chmod mv cat ls rm sleep env id touch)
for t in "${tools[@]}"; do cp "$rootfs/usr/bin/$t" "$fs/usr/bin/"; done
ln -s dash "$fs/usr/bin/sh"
# the shared libraries of those tools, resolved in the rootfs they come from
chroot "$rootfs" ldd "${tools[@]/#//usr/bin/}" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' \
  | sort -u | while read -r lib; do
    mkdir -p "$fs$(dirname "$lib")"; cp -L "$rootfs$lib" "$fs$lib"
  done
install -m 755 "$out/envoy" "$fs/usr/local/bin/envoy"
printf 'root:x:0:0:root:/root:/bin/bash\nenvoy:x:101:101::/home/envoy:/usr/sbin/nologin\n' > "$fs/etc/passwd"
printf 'root:x:0:\nenvoy:x:101:\n' > "$fs/etc/group"
printf 'hosts: files dns\n' > "$fs/etc/nsswitch.conf"
chroot "$fs" /usr/bin/bash -c 'mkdir -p /tmp/x && echo -en "a\nb" > /tmp/x/f && cp /tmp/x/f /tmp/x/g && chmod 666 /tmp/x/f && mv /tmp/x/f /tmp/x/h && rm -r /tmp/x' \
  || die "the image's bash and coreutils do not run"
"$fs/usr/local/bin/envoy" --version >&2

tar -C "$fs" -c . | docker_ import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL kplanediag.lb-stamp=$stamp" \
  --change 'CMD ["envoy", "-c", "/etc/envoy/envoy.yaml"]' \
  - "$image" >/dev/null
say "load-balancer image $image ready ($(docker_ image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'), in $((SECONDS - start)) s)"
