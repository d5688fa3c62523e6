#!/usr/bin/env bash
# Installs the peer systems Adashta Queue is benchmarked against (bench/peers/README.md):
# Debian's nats-server (2.9) and redis-server (7.0), and the Node.js peers' npm packages; and
# what the Node.js and Go SDKs' bench tools need (bench/apps/node, bench/apps/go).
# Idempotent: packages already present are skipped; npm uses the lock file.
# The Debian services stay stopped: each benchmark starts its own instance on a
# loopback port it chooses, so nothing may hold the default ports.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="$root/bench/peers"
source "$root/scripts/apt_packages.sh"

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
if [[ ! -L $peers/node_modules ]] && { [[ ! -d $peers/node_modules ]] || [[ $peers/package-lock.json -nt $peers/node_modules/.package-lock.json ]]; }; then
  echo "setup: installing npm packages for bench/peers/"
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
else
  echo "setup: npm packages for bench/peers/ present"
fi

# The Node.js SDK's tools import sdk/js from its source: its modules and generated code
# (sdk/js/setup.sh: npm ci from its lock file, then its build; idempotent).
if [[ -x $root/sdk/js/setup.sh ]]; then
  echo "setup: the Node.js SDK (sdk/js) for bench/apps/node/"
  "$root/sdk/js/setup.sh" >/dev/null
else
  echo "setup: no sdk/js here: the adashta-node rows will fail" >&2
fi

# The Go SDK's tools: their modules (the same as sdk/go's); bench/run.mjs builds them with
# go build into bench/apps/go/bin.
go=$(command -v go || echo /usr/local/go/bin/go)
if [[ -x $go ]]; then
  echo "setup: Go modules for bench/apps/go/"
  (cd "$root/bench/apps/go" && "$go" mod download)
else
  echo "setup: no Go toolchain (run sdk/go/setup.sh): the adashta-go rows will fail" >&2
fi
