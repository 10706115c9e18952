#!/usr/bin/env bash
# Sets up everything Gameday needs on this machine, idempotently:
#   - nats-server and redis-server for the local environment (Debian packages when root on Debian),
#   - a Docker engine and the local container images for the containers environment
#     (skip with --no-containers),
#   - npm dependencies, protobuf code generation and the TypeScript build.
# On anything else than Debian-as-root it says exactly what to install and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

containers=1
for arg in "$@"; do
  case "$arg" in
    --no-containers) containers=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
is_debian_root() { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null && [[ -f /etc/debian_version ]]; }

# Node.js >= 20.19 (ESM require, import.meta.dirname)
node_version=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  echo "setup: Node.js >= 20.19 is required (found $node_version)" >&2
  exit 1
fi

apt_updated=0
apt_install() {
  if [[ $apt_updated -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v prometheus >/dev/null || missing+=(prometheus) # the metric probes' tests query a real one
if [[ ${#missing[@]} -gt 0 ]]; then
  if is_debian_root; then
    say "installing ${missing[*]} from Debian's packages"
    apt_install "${missing[@]}"
    # the packages start system services we do not use: Gameday runs its own processes
    for svc in redis-server nats-server; do
      (command -v systemctl >/dev/null && systemctl disable --now "$svc" >/dev/null 2>&1) || true
      pkill -x "$svc" 2>/dev/null || true
    done
  else
    cat >&2 <<MSG
setup: missing ${missing[*]}. Install them, then run this script again:
  Debian/Ubuntu:  sudo apt-get install nats-server redis-server prometheus
  macOS:          brew install nats-server redis prometheus
  other:          https://github.com/nats-io/nats-server/releases and https://redis.io/download
MSG
    exit 1
  fi
fi

# headless Chromium for the browser tests of the report pages (test/browser): Debian's package
if ! command -v chromium >/dev/null && is_debian_root; then
  say "installing chromium from Debian's packages (browser tests of the reports)"
  apt_install chromium
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

say "generating protobuf code and building"
npm run --silent build

if [[ $containers -eq 1 ]]; then
  bash scripts/ensure-docker.sh
  say "building the local container images"
  npm run --silent images
fi

say "ready: $(nats-server --version), $(redis-server --version | cut -d' ' -f1-3)"
