#!/usr/bin/env bash
# Builds the local container images the containers environment uses on a machine that cannot
# pull from a registry: each is `FROM scratch` plus one of this machine's own binaries and the
# shared libraries `ldd` lists for it (images/<name>/Dockerfile).
#
#   gameday/nats-server:local   ← nats-server   (stands in for nats:2.9)
#   gameday/redis-server:local  ← redis-server  (stands in for redis:7)
#   gameday/node:local          ← node          (stands in for node:20; the repo is bind-mounted)
#
# These tags are the `images.local` set of environments/containers.yaml. An image whose inputs
# (binary, libraries, Dockerfile) did not change is not rebuilt; --force rebuilds anyway.
# Binaries: $GAMEDAY_NATS_SERVER, $GAMEDAY_REDIS_SERVER, $GAMEDAY_NODE or the ones on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build-images: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "build-images: $*" >&2; exit 1; }

command -v docker >/dev/null || die "no docker CLI: run scripts/ensure-docker.sh first"
docker info >/dev/null 2>&1 || die "no Docker engine answers: run scripts/ensure-docker.sh first"
command -v ldd >/dev/null || die "ldd is needed to find the binaries' shared libraries"

work=$(mktemp -d "${TMPDIR:-/tmp}/gameday-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The shared libraries a binary loads, the dynamic loader included: absolute paths, one a line.
libraries_of() {
  ldd "$1" 2>/dev/null | awk '
    /=> \// { print $3; next }     # libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)
    /^[[:space:]]*\// { print $1 }   # /lib64/ld-linux-x86-64.so.2 (0x...)
  ' | sort -u
}

# build <name> <binary> <path in image> <tag>
build() {
  local name=$1 binary=$2 target=$3 tag=$4
  local bin ctx rootfs libs fingerprint current
  bin=$(command -v "$binary" 2>/dev/null) || die "$binary not found (install it, or set the GAMEDAY_* variable naming it)"
  libs=$(libraries_of "$bin")
  fingerprint=$( { sha256sum "$(readlink -f "$bin")" "images/$name/Dockerfile"; for l in $libs; do sha256sum "$(readlink -f "$l")"; done; echo "$target"; } | sha256sum | cut -c1-32)
  current=$(docker image inspect -f '{{ index .Config.Labels "gameday.fingerprint" }}' "$tag" 2>/dev/null || true)
  if [[ $force -eq 0 && "$current" == "$fingerprint" ]]; then
    say "$tag is up to date ($bin)"
    return
  fi
  ctx="$work/$name"
  rootfs="$ctx/rootfs"
  mkdir -p "$rootfs$(dirname "$target")" "$rootfs/tmp" "$rootfs/etc" "$rootfs/root"
  chmod 1777 "$rootfs/tmp"
  cp -L "$bin" "$rootfs$target"
  for lib in $libs; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  # what glibc and Go resolve names and users with; Docker adds /etc/hosts and /etc/resolv.conf
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  cp "images/$name/Dockerfile" "$ctx/Dockerfile"
  say "building $tag from $bin ($(echo "$libs" | wc -w) libraries)"
  # the legacy builder: no BuildKit/buildx needed, and COPY is all these Dockerfiles do
  if ! out=$(DOCKER_BUILDKIT=0 docker build -q \
    --label "gameday.fingerprint=$fingerprint" \
    --label "gameday.source=$bin" \
    --label "gameday.version=$("$bin" --version 2>&1 | head -n1)" \
    -t "$tag" "$ctx" 2>&1); then
    echo "$out" >&2
    die "docker build of $tag failed"
  fi
}

started=$(date +%s%N)
build nats-server "${GAMEDAY_NATS_SERVER:-nats-server}" /nats-server gameday/nats-server:local
build redis-server "${GAMEDAY_REDIS_SERVER:-redis-server}" /usr/local/bin/redis-server gameday/redis-server:local
build node "${GAMEDAY_NODE:-node}" /usr/local/bin/node gameday/node:local
# the images these builds replaced, now untagged
docker image prune -f --filter label=gameday.fingerprint >/dev/null
say "images ready in $(( ($(date +%s%N) - started) / 1000000 )) ms"
