#!/usr/bin/env bash
# Installs the peer systems Adashta Queue is benchmarked against (bench/peers/README.md):
# Debian's nats-server (2.9) and redis-server (7.0), and the Node.js peers' npm packages.
# Idempotent: packages already present are skipped; npm uses the lock file.
# The Debian services stay stopped: each benchmark starts its own instance on a
# loopback port it chooses, so nothing may hold the default ports.
set -euo pipefail
peers="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peers"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/apt_packages.sh"

packages=(nats-server redis-server psmisc procps nodejs npm)

apt_install "${packages[@]}"

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

# The packages enable and start their services where an init system runs them.
# Stop and disable them, through the init system only: a benchmark's own
# redis-server or nats-server must not be touched.
for service in redis-server nats-server; do
  if [[ -d /run/systemd/system ]]; then
    if systemctl is-enabled --quiet "$service" 2>/dev/null || systemctl is-active --quiet "$service" 2>/dev/null; then
      echo "setup: stopping and disabling the $service service"
      "${sudo_cmd[@]}" systemctl disable --now --quiet "$service"
    fi
  elif [[ -x /etc/init.d/$service ]] && "${sudo_cmd[@]}" service "$service" status >/dev/null 2>&1; then
    echo "setup: stopping and disabling the $service service"
    "${sudo_cmd[@]}" service "$service" stop >/dev/null
    "${sudo_cmd[@]}" update-rc.d "$service" disable >/dev/null 2>&1 || true
  fi
done

# npm packages for the Node.js peers (Socket.IO, ws, RSMQ).
if [[ ! -d $peers/node_modules ]] || [[ $peers/package-lock.json -nt $peers/node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages for bench/peers/"
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
else
  echo "setup: npm packages for bench/peers/ present"
fi
