#!/usr/bin/env bash
# Builds the offline kind node image (no registry): a Debian trixie rootfs (systemd 257 still boots
# on this host's cgroup v1; sid's 262 refuses), containerd 2.x, runc and CNI plugins from Debian
# sid, kind's own base files (from its Go module), kubelet/kubeadm/kubectl built with Go, and the
# images kubeadm needs built from local binaries and preloaded into containerd.
# Cached in ~/.cache/kplanediag/kind-image; each step is skipped when its output exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lab=$(dirname "$here")
# shellcheck source=../versions.env
. "$lab/versions.env"
cache=${KPLANEDIAG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kplanediag}/kind-image
rootfs=$cache/rootfs-node
say() { printf '[kind-image] %s\n' "$*" >&2; }
die() { printf '[kind-image] ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "building the node rootfs needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing: lab/kind/docker.sh up installs it"
mirror=$(awk '/^URIs:/ && $2 ~ /\/debian$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources"
mkdir -p "$cache"

packages=systemd,systemd-sysv,dbus,iptables,nftables,iproute2,ethtool,socat,conntrack,ebtables,kmod,ca-certificates,mount,util-linux,procps,libseccomp2,e2fsprogs,bash,jq
if [ "$(cat "$rootfs/.done" 2>/dev/null)" != "$packages" ]; then
  say "debootstrap trixie into $rootfs (a few minutes)"
  rm -rf "$rootfs"
  debootstrap --variant=minbase \
    --include="$packages" \
    trixie "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 || die "debootstrap failed: see $cache/debootstrap.log"
  say "containerd 2.x, runc and CNI plugins from sid"
  printf 'Types: deb\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
    > "$rootfs/etc/apt/sources.list.d/sid.sources"
  printf 'Package: *\nPin: release n=sid\nPin-Priority: 100\n' > "$rootfs/etc/apt/preferences.d/sid"
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"; chmod +x "$rootfs/usr/sbin/policy-rc.d"
  # the mirror's sid Release file can be past its Valid-Until date on a frozen mirror
  apt_opts=(-o Acquire::Check-Valid-Until=false -qq)
  chroot "$rootfs" apt-get "${apt_opts[@]}" update >"$cache/apt-sid.log" 2>&1 || die "apt-get update for sid failed: see $cache/apt-sid.log"
  DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get "${apt_opts[@]}" install -y -t sid containerd runc containernetworking-plugins \
    >>"$cache/apt-sid.log" 2>&1 || die "installing containerd from sid failed: see $cache/apt-sid.log"
  rm -f "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/apt/sources.list.d/sid.sources" "$rootfs/etc/apt/preferences.d/sid"
  chroot "$rootfs" apt-get clean
  echo "$packages" > "$rootfs/.done"
fi
say "rootfs: $(chroot "$rootfs" dpkg-query -W -f '${Package} ${Version}, ' systemd containerd runc containernetworking-plugins)"

# --- binaries -------------------------------------------------------------------------------------
bin=$("$lab/build.sh" kubelet kubeadm kube-proxy | tail -1)
extra=$cache/bin  # coredns, pause, flanneld, etcd for the images (see lab/kind/README.md)
for b in coredns pause flanneld etcd; do [ -x "$extra/$b" ] || die "$extra/$b missing: build it first (lab/kind/build-extras.sh)"; done

# --- skip everything below when the image exists and nothing it is made of changed ---------------
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/kplanediag/docker.sock}
stamp=$( (cat "$0" "$here/default-cni.yaml" "$lab/versions.env" "$rootfs/.done"; cat "$bin"/.*.stamp; ls -l "$extra") | sha256sum | cut -c1-16)
if [ "$(cat "$cache/node-image.stamp" 2>/dev/null)" = "$stamp" ] \
    && /usr/bin/docker image inspect "kplanediag/kind-node:$KUBE_VERSION" >/dev/null 2>&1; then
  say "node image kplanediag/kind-node:$KUBE_VERSION is up to date"
  exit 0
fi

# --- the node filesystem --------------------------------------------------------------------------
kindfiles=$(go env GOMODCACHE)/sigs.k8s.io/kind@$KIND_VERSION/images/base/files
[ -d "$kindfiles" ] || (cd /tmp && go mod download "sigs.k8s.io/kind@$KIND_VERSION") || die "cannot fetch kind's module"
node=$cache/node
say "assembling the node filesystem"
rm -rf "$node"; cp -a "$rootfs" "$node"; rm -f "$node/.done"
cp -r "$kindfiles/usr/local/bin/." "$node/usr/local/bin/"; chmod 755 "$node"/usr/local/bin/*
mkdir -p "$node/kind/bin" "$node/kind/manifests" "$node/etc/kubernetes/manifests"
cp -r "$kindfiles/kind/." "$node/kind/"; chmod 755 "$node"/kind/bin/*
for d in etc/containerd etc/default etc/sysctl.d etc/systemd/system etc/systemd/system/kubelet.service.d; do
  mkdir -p "$node/$d"; find "$kindfiles/$d" -maxdepth 1 -type f -exec cp {} "$node/$d/" \;
done
cp "$kindfiles/etc/crictl.yaml" "$node/etc/"
# containerd inside a node container cannot lower oom_score_adj below its own; runc/CNI from Debian paths
sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/; s#registry.k8s.io/pause:3.10"#registry.k8s.io/pause:3.10.2"#' \
  "$node/etc/containerd/config.toml"
for b in containerd ctr containerd-shim-runc-v2; do ln -sf "/usr/bin/$b" "$node/usr/local/bin/$b"; done
mkdir -p "$node/opt/cni"; ln -sfn /usr/lib/cni "$node/opt/cni/bin"
# the CRI base OCI spec, as kind's base image makes it (ctr oci spec | add kind's hook | drop rlimits)
chroot "$node" ctr oci spec | python3 -c '
import json, sys
spec = json.load(sys.stdin)
spec.setdefault("hooks", {}).setdefault("createContainer", []).append({"path": "/kind/bin/mount-product-files.sh"})
spec["process"].pop("rlimits", None)
json.dump(spec, sys.stdout, indent=2)' > "$node/etc/containerd/cri-base.json"
install -m 755 "$bin/kubelet" "$bin/kubeadm" "$bin/kubectl" "$node/usr/bin/"
cp "$here/default-cni.yaml" "$node/kind/manifests/default-cni.yaml"
echo "$KUBE_VERSION" > "$node/kind/version"
# the base image's RUN steps (kind images/base/Dockerfile)
find "$node/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
rm -f "$node"/lib/systemd/system/multi-user.target.wants/* "$node"/etc/systemd/system/*.wants/* \
  "$node"/lib/systemd/system/local-fs.target.wants/* "$node"/lib/systemd/system/sockets.target.wants/*udev* \
  "$node"/lib/systemd/system/sockets.target.wants/*initctl* "$node"/lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >> "$node/etc/systemd/journald.conf"
chroot "$node" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
chroot "$node" systemctl mask systemd-binfmt.service systemd-modules-load.service >/dev/null 2>&1

# --- images for kubeadm, built from local binaries ------------------------------------------------
docker_() { /usr/bin/docker "$@"; }
images=$cache/images; rm -rf "$images"; mkdir -p "$images"
PATHENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
scratch_image() { # tag binary [entrypoint]
  local dir; dir=$(mktemp -d); mkdir -p "$dir/usr/local/bin"; cp "$2" "$dir/usr/local/bin/"
  local change=(--change "$PATHENV")
  [ -n "${3:-}" ] && change+=(--change "ENTRYPOINT [\"$3\"]")
  tar -C "$dir" -c . | docker_ import "${change[@]}" - "$1" >/dev/null; rm -rf "$dir"
}
rootfs_image() { # tag binary...
  local tag=$1; shift
  local dir; dir=$(mktemp -d); mkdir -p "$dir/usr/local/bin"; cp "$@" "$dir/usr/local/bin/"
  (tar -C "$rootfs" --exclude=./.done -c .; ) > "$images/base.tar"
  local f; for f in "$@"; do tar -C "$dir" -rf "$images/base.tar" "./usr/local/bin/$(basename "$f")"; done
  docker_ import --change "$PATHENV" "$images/base.tar" "$tag" >/dev/null; rm -rf "$dir" "$images/base.tar"
}
say "building images"
for c in kube-apiserver kube-controller-manager kube-scheduler; do scratch_image "registry.k8s.io/$c:$KUBE_VERSION" "$bin/$c"; done
scratch_image "registry.k8s.io/etcd:3.6.8-0" "$extra/etcd"
scratch_image "registry.k8s.io/coredns/coredns:v1.14.2" "$extra/coredns" /usr/local/bin/coredns
scratch_image "registry.k8s.io/pause:3.10.2" "$extra/pause" /usr/local/bin/pause
rootfs_image "registry.k8s.io/kube-proxy:$KUBE_VERSION" "$bin/kube-proxy"
rootfs_image "localhost/kplanediag/flannel:v0.26.7" "$extra/flanneld"
tags=(registry.k8s.io/kube-apiserver:$KUBE_VERSION registry.k8s.io/kube-controller-manager:$KUBE_VERSION
      registry.k8s.io/kube-scheduler:$KUBE_VERSION registry.k8s.io/kube-proxy:$KUBE_VERSION
      registry.k8s.io/etcd:3.6.8-0 registry.k8s.io/coredns/coredns:v1.14.2 registry.k8s.io/pause:3.10.2
      localhost/kplanediag/flannel:v0.26.7)
docker_ save -o "$images/all.tar" "${tags[@]}"

# --- the node image, with the images preloaded into its containerd --------------------------------
say "importing the node filesystem"
tar -C "$node" -c . | docker_ import --change 'ENV container=docker' - kplanediag/kind-node-stage:$KUBE_VERSION >/dev/null
say "preloading images into the node's containerd"
docker_ rm -f kpd-preload >/dev/null 2>&1 || true
docker_ run -d --privileged --name kpd-preload -v "$images:/images:ro" --entrypoint /usr/bin/containerd \
  kplanediag/kind-node-stage:$KUBE_VERSION >/dev/null
for _ in $(seq 30); do docker_ exec kpd-preload ctr version >/dev/null 2>&1 && break; sleep 0.5; done
docker_ exec kpd-preload ctr -n k8s.io images import --all-platforms --no-unpack --digests /images/all.tar >/dev/null \
  || die "ctr images import failed"
docker_ exec kpd-preload ctr -n k8s.io images ls -q
docker_ stop kpd-preload >/dev/null
docker_ commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' kpd-preload \
  kplanediag/kind-node-preloaded:$KUBE_VERSION >/dev/null
docker_ rm kpd-preload >/dev/null
build=$(mktemp -d)
printf 'FROM kplanediag/kind-node-preloaded:%s\nSTOPSIGNAL SIGRTMIN+3\n' "$KUBE_VERSION" > "$build/Dockerfile"
DOCKER_BUILDKIT=0 docker_ build -q -t "kplanediag/kind-node:$KUBE_VERSION" "$build" >/dev/null; rm -rf "$build"
echo "$stamp" > "$cache/node-image.stamp"
say "node image kplanediag/kind-node:$KUBE_VERSION ready"
