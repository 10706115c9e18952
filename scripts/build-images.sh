#!/usr/bin/env bash
# Builds the local container images the containers environment uses on a machine that cannot
# pull from a registry: each is `FROM scratch` plus one of this machine's own binaries and the
# shared libraries `ldd` lists for it (images/<name>/Dockerfile).
#
#   gameday/nats-server:local   ← nats-server   (stands in for nats:2.9)
#   gameday/redis-server:local  ← redis-server  (stands in for redis:7)
#   gameday/node:local          ← node          (stands in for node:20; the repo is bind-mounted)
#   gameday/python:local        ← python3 and its standard library (stands in for python:3.x-slim)
#   gameday/inventory-py:local  ← examples/python-inventory/Dockerfile on gameday/python:local
#
# The first three are the `images.local` set of environments/containers.yaml; the last is the
# image examples/python-inventory/containers.yaml runs. An image whose inputs (binary, libraries,
# files, Dockerfile) did not change is not rebuilt; --force rebuilds anyway.
# Binaries: $GAMEDAY_NATS_SERVER, $GAMEDAY_REDIS_SERVER, $GAMEDAY_NODE, $GAMEDAY_PYTHON or the ones on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
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

# the legacy builder: no BuildKit/buildx needed, and these Dockerfiles only COPY
docker_build() {
  local tag=$1 fingerprint=$2 source=$3 ctx=$4
  shift 4
  local out
  if ! out=$(DOCKER_BUILDKIT=0 docker build -q --label "gameday.fingerprint=$fingerprint" --label "gameday.source=$source" "$@" -t "$tag" "$ctx" 2>&1); then
    echo "$out" >&2
    die "docker build of $tag failed"
  fi
}

up_to_date() {
  [[ $force -eq 0 && "$(docker image inspect -f '{{ index .Config.Labels "gameday.fingerprint" }}' "$1" 2>/dev/null || true)" == "$2" ]]
}

# build <name> <binary> <path in image> <tag>
build() {
  local name=$1 binary=$2 target=$3 tag=$4
  local bin ctx rootfs libs fingerprint
  bin=$(command -v "$binary" 2>/dev/null) || die "$binary not found (install it, or set the GAMEDAY_* variable naming it)"
  libs=$(libraries_of "$bin")
  fingerprint=$( { sha256sum "$(readlink -f "$bin")" "images/$name/Dockerfile"; for l in $libs; do sha256sum "$(readlink -f "$l")"; done; echo "$target"; } | sha256sum | cut -c1-32)
  if up_to_date "$tag" "$fingerprint"; then
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
  docker_build "$tag" "$fingerprint" "$bin" "$ctx" --label "gameday.version=$("$bin" --version 2>&1 | head -n1)"
}

# build_python <tag>: the interpreter at its own path, its standard library (no tests, no GUI),
# python3 on PATH, and every shared library the interpreter and its extension modules load
build_python() {
  local tag=$1 python exe stdlib dynload libs fingerprint ctx rootfs
  python=$(command -v "${GAMEDAY_PYTHON:-python3}" 2>/dev/null) || die "python3 not found (install it, or set GAMEDAY_PYTHON)"
  exe=$("$python" -c 'import sys; print(sys.executable)')
  exe=$(readlink -f "$exe")
  stdlib=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
  dynload=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["platstdlib"])')/lib-dynload
  libs=$( { libraries_of "$exe"; for so in "$dynload"/*.so; do libraries_of "$so"; done; } | sort -u)
  fingerprint=$( { sha256sum "$exe" images/python/Dockerfile; find "$stdlib" -type f -name '*.py' -printf '%P %s\n' | sort; for l in $libs; do sha256sum "$(readlink -f "$l")"; done; } | sha256sum | cut -c1-32)
  if up_to_date "$tag" "$fingerprint"; then
    say "$tag is up to date ($exe)"
    return
  fi
  ctx="$work/python"
  rootfs="$ctx/rootfs"
  mkdir -p "$rootfs$(dirname "$exe")" "$rootfs$stdlib" "$rootfs/usr/local/bin" "$rootfs/tmp" "$rootfs/etc"
  chmod 1777 "$rootfs/tmp"
  cp -L "$exe" "$rootfs$exe"
  ln -sf "$exe" "$rootfs/usr/local/bin/python3"
  tar -C "$stdlib" --exclude=__pycache__ --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter \
    --exclude=turtledemo --exclude=ensurepip --exclude='config-*' --exclude=site-packages -cf - . | tar -C "$rootfs$stdlib" -xf -
  if [[ ! -d "$rootfs$dynload" ]]; then mkdir -p "$rootfs$dynload" && cp -L "$dynload"/*.so "$rootfs$dynload/"; fi
  for lib in $libs; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  cp images/python/Dockerfile "$ctx/Dockerfile"
  say "building $tag from $exe and $stdlib ($(echo "$libs" | wc -w) libraries)"
  docker_build "$tag" "$fingerprint" "$exe" "$ctx" --label "gameday.version=$("$exe" --version 2>&1)"
}

# build_example <tag> <dir> <base>: an example's own Dockerfile, on a base built here
build_example() {
  local tag=$1 dir=$2 base=$3 fingerprint
  fingerprint=$( { docker image inspect -f '{{.Id}}' "$base"; find "$dir" -type f ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-32)
  if up_to_date "$tag" "$fingerprint"; then
    say "$tag is up to date ($dir)"
    return
  fi
  say "building $tag from $dir on $base"
  docker_build "$tag" "$fingerprint" "$dir" "$dir" --build-arg "BASE=$base"
}

started=$(date +%s%N)
build nats-server "${GAMEDAY_NATS_SERVER:-nats-server}" /nats-server gameday/nats-server:local
build redis-server "${GAMEDAY_REDIS_SERVER:-redis-server}" /usr/local/bin/redis-server gameday/redis-server:local
build node "${GAMEDAY_NODE:-node}" /usr/local/bin/node gameday/node:local
build_python gameday/python:local
build_example gameday/inventory-py:local examples/python-inventory gameday/python:local
# the images these builds replaced, now untagged
docker image prune -f --filter label=gameday.fingerprint >/dev/null
say "images ready in $(( ($(date +%s%N) - started) / 1000000 )) ms"
