#!/usr/bin/env bash
# Builds kplanediag serve's container image offline, the way lab/kind/build-image.sh builds the kind
# node image (no registry, no Dockerfile base): a Debian bookworm rootfs by debootstrap with python3
# (bookworm's 3.11 is the dev venv's, so the venv's pip builds the wheelhouse for it), a venv in it
# holding the kplanediag wheel and its dependencies installed from that wheelhouse with --no-index,
# a non-root user, then `docker import` as kplanediag-serve:latest (and :<version>).
#   lab/serve-image.sh          build (each step skipped when its output is current)
#   lab/serve-image.sh load     build, then `kind load docker-image` into the kind cluster ($KIND_NAME)
# Cached in ~/.cache/kplanediag/serve-image. Needs root (debootstrap, chroot) and a Docker engine
# (DOCKER_HOST, else lab/kind/docker.sh up).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=versions.env
. "$here/versions.env"
cache=${KPLANEDIAG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kplanediag}
work=$cache/serve-image
rootfs=$work/rootfs
venv_pip=${VENV:-$root/.venv}/bin/pip
image=kplanediag-serve
say() { printf '[serve-image] %s\n' "$*" >&2; }
die() { printf '[serve-image] ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "building the rootfs needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap (lab/kind/docker.sh up installs it)"
[ -x "$venv_pip" ] || die "no dev venv at $venv_pip: make venv"
mirror=$(awk '/^URIs:/ && $2 ~ /\/debian$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources"
mkdir -p "$work"

packages=python3,python3-venv,ca-certificates
if [ "$(cat "$rootfs/.done" 2>/dev/null)" != "$packages" ]; then
  say "debootstrap bookworm (minbase + $packages) into $rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || die "debootstrap failed: see $work/debootstrap.log"
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  echo "$packages" > "$rootfs/.done"
fi
want=$("${venv_pip%/pip}/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
have=$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$want" = "$have" ] || die "the rootfs has Python $have, the dev venv $want: its wheelhouse would not fit"

say "wheelhouse: the kplanediag wheel and its dependencies (the dev venv's pip)"
rm -rf "$work/wheelhouse"
"$venv_pip" wheel --quiet --disable-pip-version-check -w "$work/wheelhouse" "$root" >"$work/wheel.log" 2>&1 \
  || die "pip wheel failed: see $work/wheel.log"
version=$(ls "$work/wheelhouse" | sed -n 's/^kplanediag-\([^-]*\)-.*\.whl$/\1/p')
[ -n "$version" ] || die "no kplanediag wheel in $work/wheelhouse"

export DOCKER_HOST=${DOCKER_HOST:-}
if [ -z "$DOCKER_HOST" ] && ! docker info >/dev/null 2>&1; then eval "$("$here/kind/docker.sh" up)"; export DOCKER_HOST; fi
docker_() { if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi; }
stamp=$( (cat "$0" "$rootfs/.done"; cd "$work/wheelhouse" && sha256sum ./*.whl) | sha256sum | cut -c1-16)
if [ "$(cat "$work/image.stamp" 2>/dev/null)" = "$stamp" ] && docker_ image inspect "$image:$version" >/dev/null 2>&1; then
  say "image $image:$version is up to date"
else
  say "assembling the image filesystem"
  fs=$work/fs
  rm -rf "$fs"; cp -a "$rootfs" "$fs"; rm -f "$fs/.done"
  cp -r "$work/wheelhouse" "$fs/wheelhouse"
  chroot "$fs" python3 -m venv /opt/kplanediag >/dev/null
  chroot "$fs" /opt/kplanediag/bin/pip install --quiet --disable-pip-version-check --no-index --no-compile \
    --find-links /wheelhouse kplanediag >"$work/install.log" 2>&1 || die "pip install in the image failed: see $work/install.log"
  chroot "$fs" /opt/kplanediag/bin/python -m pip uninstall --quiet -y pip setuptools >/dev/null 2>&1 || true
  # bytecode for what runs (the root filesystem is read-only)
  chroot "$fs" /opt/kplanediag/bin/python -m compileall -q /opt/kplanediag/lib >/dev/null
  rm -rf "$fs/wheelhouse" "$fs/root/.cache"
  echo 'nonroot:x:65532:65532:kplanediag:/nonexistent:/usr/sbin/nologin' >> "$fs/etc/passwd"
  echo 'nonroot:x:65532:' >> "$fs/etc/group"
  say "importing $image:$version"
  tar -C "$fs" -c . | docker_ import \
    --change 'ENV PATH=/opt/kplanediag/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
    --change 'USER 65532:65532' \
    --change 'EXPOSE 8080' \
    --change 'ENTRYPOINT ["/opt/kplanediag/bin/kplanediag"]' \
    --change 'CMD ["serve"]' \
    - "$image:$version" >/dev/null
  rm -rf "$fs"
  echo "$stamp" > "$work/image.stamp"
fi
docker_ tag "$image:$version" "$image:latest"
say "image $image:$version ($(docker_ image inspect -f '{{.Size}}' "$image:$version" | awk '{printf "%.0f MB", $1/1e6}'))"

if [ "${1:-}" = load ]; then
  kind=$(command -v kind || echo "$cache/kind-$KIND_VERSION/kind")
  [ -x "$kind" ] || die "kind not found: make kind-up builds it"
  "$kind" load docker-image --name "${KIND_NAME:-kplanediag}" "$image:latest" "$image:$version" >&2 \
    || die "kind load docker-image failed"
  say "loaded into kind cluster ${KIND_NAME:-kplanediag}"
fi
