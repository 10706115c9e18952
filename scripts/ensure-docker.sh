#!/usr/bin/env bash
# Makes sure a Docker engine answers, for the containers environment, with the tools its
# partitions use (iptables and ss, run in the containers' network namespaces through nsenter).
# Idempotent, and quick when all is there. Otherwise, as root on Debian: installs what is missing
# from Debian's packages (docker.io, iptables, iproute2), starts dockerd in the background (log:
# $GAMEDAY_DOCKERD_LOG, default /var/log/gameday-dockerd.log) and waits for its socket, at most
# $GAMEDAY_DOCKERD_WAIT seconds (default 60). Anywhere else it says what to do and fails.
set -euo pipefail

log_file=${GAMEDAY_DOCKERD_LOG:-/var/log/gameday-dockerd.log}
wait_s=${GAMEDAY_DOCKERD_WAIT:-60}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
engine_answers() { command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; }
is_debian_root() { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null && [[ -f /etc/debian_version ]]; }

answers=0
engine_answers && answers=1
missing=()
[[ $answers -eq 1 ]] || command -v dockerd >/dev/null || missing+=(docker.io)
command -v iptables >/dev/null || missing+=(iptables)
command -v ss >/dev/null || missing+=(iproute2)
command -v nsenter >/dev/null || missing+=(util-linux)

if [[ $answers -eq 1 && ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if ! is_debian_root; then
  if [[ $answers -eq 1 ]]; then
    echo "ensure-docker: the engine answers, but partitions on the containers environment also need: ${missing[*]}" >&2
    exit 0
  fi
  cat >&2 <<MSG
ensure-docker: no Docker engine answers (\`docker info\` failed).
  Start Docker (Docker Desktop, \`sudo systemctl start docker\`, or \`sudo dockerd &\`), make sure
  this user can reach its socket (e.g. the docker group, or DOCKER_HOST), then run this again.
MSG
  exit 1
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if engine_answers; then
  exit 0
fi

# A dockerd may be running but not answering yet (just started by someone else): wait for it
# rather than starting a second one on the same socket.
if ! pgrep -x dockerd >/dev/null; then
  # a stale pid file from a dockerd that died makes the next one refuse to start
  if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  say "starting dockerd (log: $log_file)"
  mkdir -p "$(dirname "$log_file")"
  # setsid + nohup: the engine outlives this script and the terminal that ran it
  setsid nohup dockerd >>"$log_file" 2>&1 </dev/null &
fi

for ((i = 0; i < wait_s * 4; i++)); do
  if engine_answers; then
    say "Docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) is up"
    exit 0
  fi
  if ! pgrep -x dockerd >/dev/null; then
    echo "ensure-docker: dockerd exited; last lines of $log_file:" >&2
    tail -n 20 "$log_file" >&2 || true
    exit 1
  fi
  sleep 0.25
done
echo "ensure-docker: dockerd did not answer within ${wait_s}s; last lines of $log_file:" >&2
tail -n 20 "$log_file" >&2 || true
exit 1
