#!/usr/bin/env bash
# Installs everything Adashta Queue needs to build, run and test on Debian 12.
# Idempotent: packages already present are skipped; npm uses the lock file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/apt_packages.sh"

packages=(
  build-essential cmake ninja-build pkg-config git ccache
  libzmq3-dev cppzmq-dev libczmq-dev libwebsockets-dev libwebsockets-evlib-ev libev-dev
  libflatbuffers-dev flatbuffers-compiler libsqlite3-dev catch2 liblua5.4-dev
  libjwt-dev libsodium-dev libssl-dev
  chromium iproute2 nodejs npm openssl
)

apt_install "${packages[@]}"

# npm packages for the integration and browser tests.
if [[ ! -d $here/tests/node_modules ]] || [[ $here/tests/package-lock.json -nt $here/tests/node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages for tests/"
  (cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "setup: npm packages present"
fi

# The Node.js SDK (sdk/js: npm ci, then what it generates from proto/) and the examples on it.
echo "setup: Node.js SDK"
"$here/sdk/js/setup.sh"
if [[ ! -d $here/examples/node/node_modules ]] || [[ $here/examples/node/package-lock.json -nt $here/examples/node/node_modules/.package-lock.json ]]; then
  (cd "$here/examples/node" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The Go SDK's toolchain and modules (sdk/go/setup.sh: apt only for what is missing).
echo "setup: Go SDK modules"
"$here/sdk/go/setup.sh"
