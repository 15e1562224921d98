#!/usr/bin/env bash
# Starts (up) or stops (down) a Docker engine for the offline kind cluster: Debian's docker.io run
# by hand, its data under ~/.cache/kplanediag/docker, its socket at /run/kplanediag/docker.sock,
# with lab/kind/runc-wrapper as default runtime (Docker 20.10 privileged containers on a host
# without CAP_SYS_RESOURCE). Prints `export DOCKER_HOST=...` on success.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${KPLANEDIAG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kplanediag}
run=/run/kplanediag
sock=unix://$run/docker.sock
say() { printf '[docker] %s\n' "$*" >&2; }
die() { printf '[docker] ERROR: %s\n' "$*" >&2; exit 1; }
docker_() { DOCKER_HOST=$sock /usr/bin/docker "$@"; }

install_engine() {
  if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] && command -v debootstrap >/dev/null; then return; fi
  [ "$(id -u)" = 0 ] || die "Debian's docker.io and debootstrap are needed: apt-get install docker.io debootstrap (as root)"
  say "installing Debian's docker.io and debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null \
    || die "apt-get install docker.io debootstrap failed"
}

case "${1:-}" in
  up)
    install_engine
    mkdir -p "$run" "$cache/docker"
    if docker_ info >/dev/null 2>&1; then say "engine already running"; echo "export DOCKER_HOST=$sock"; exit 0; fi
    say "starting dockerd"
    nohup /usr/sbin/dockerd --host "$sock" --data-root "$cache/docker/data" --exec-root "$run/exec" \
      --pidfile "$run/dockerd.pid" --storage-driver overlay2 \
      --add-runtime kpd-runc="$here/runc-wrapper" --default-runtime kpd-runc \
      >"$cache/docker/dockerd.log" 2>&1 &
    for _ in $(seq 60); do docker_ info >/dev/null 2>&1 && break; sleep 0.5; done
    docker_ info >/dev/null 2>&1 || die "dockerd did not start; see $cache/docker/dockerd.log"
    say "engine up ($(docker_ version --format '{{.Server.Version}}'))"
    echo "export DOCKER_HOST=$sock"
    ;;
  down)
    if [ -f "$run/dockerd.pid" ]; then kill "$(cat "$run/dockerd.pid")" 2>/dev/null || true; fi
    say "engine stopped"
    ;;
  *) die "usage: lab/kind/docker.sh up|down" ;;
esac
