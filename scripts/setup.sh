#!/usr/bin/env bash
# Installs everything Adashta Queue needs to build, run and test on Debian 12.
# Idempotent: packages already present are skipped; npm uses the lock file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build pkg-config git
  libzmq3-dev cppzmq-dev libczmq-dev libwebsockets-dev
  libflatbuffers-dev flatbuffers-compiler libsqlite3-dev catch2 liblua5.4-dev
  chromium iproute2 nodejs npm
)

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # A newer Node.js from another source also counts as installed.
    if [[ $p == nodejs || $p == npm ]] && command -v "${p/nodejs/node}" >/dev/null; then continue; fi
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

# npm packages for the integration and browser tests.
if [[ ! -d $here/tests/node_modules ]] || [[ $here/tests/package-lock.json -nt $here/tests/node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages for tests/"
  (cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "setup: npm packages present"
fi
