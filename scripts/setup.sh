#!/usr/bin/env bash
# Installs everything Adashta Queue needs to build, run and test on Debian 12.
# Idempotent: packages already present are skipped; npm uses the lock file.
#
#   scripts/setup.sh               build, run and test (the default): build, test and Node.js
#                                  packages, npm and Go modules
#   scripts/setup.sh --build-only  only what building the C++ binaries needs (the image's
#                                  build stage: no browser, no npm, no Go, no container engine)
#   scripts/setup.sh --runtime     only the libraries the installed binaries load (the
#                                  image's runtime stage)
#   scripts/setup.sh --node        only Node.js and npm (the image of the Node.js example)
#   scripts/setup.sh --container   the container engine scripts/container.sh uses, and its
#                                  configuration (/etc/containers/containers.conf)
#
# The package lists live here and nowhere else: the Dockerfile runs this script.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/apt_packages.sh"

build_packages=(
  build-essential cmake ninja-build pkg-config git ccache
  libzmq3-dev cppzmq-dev libczmq-dev libwebsockets-dev libwebsockets-evlib-ev libev-dev
  libflatbuffers-dev flatbuffers-compiler libsqlite3-dev catch2 liblua5.4-dev rapidjson-dev
  libjwt-dev libsodium-dev libssl-dev
  libarchive-dev libcurl4-openssl-dev
)
# What `adashta`, `adashta-echo` and `adashta-chat` load at run time (ldd, plus the libev
# plugin libwebsockets opens by name).
runtime_packages=(
  libzmq5 libczmq4 libwebsockets17 libwebsockets-evlib-ev libev4 libsqlite3-0 libjwt0
  libsodium23 libssl3 libstdc++6 libarchive13 libcurl4 liblua5.4-0
)
# flatc: `npm run build` of sdk/js makes its mesh codec from proto/mesh.fbs.
node_packages=(nodejs npm flatbuffers-compiler)
# clang and its libFuzzer / sanitizer runtimes: the fuzz targets (scripts/fuzz.sh, fuzz/).
fuzz_packages=(clang libclang-rt-14-dev)
test_packages=(chromium iproute2 "${node_packages[@]}" openssl "${fuzz_packages[@]}")
# podman runs the image's test (tests/container/); mmdebstrap makes its Debian base image;
# python3-yaml reads compose.yaml in that test.
container_packages=(podman mmdebstrap runc uidmap python3-yaml)

# Containers on this kind of machine: crun fails on its cgroup setup, so runc; and limits
# high enough for an edge's connections. Written only when missing or different.
container_conf='# Written by scripts/setup.sh (Adashta Queue): runc, because crun fails on
# this cgroup setup; file and process limits an edge with many connections needs.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
'

configure_containers() {
  local conf=/etc/containers/containers.conf sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  if [[ -f $conf ]] && [[ $(cat "$conf") == "${container_conf%$'\n'}" ]]; then
    echo "setup: $conf present"
    return
  fi
  if [[ -f $conf ]]; then
    "${sudo_cmd[@]}" cp "$conf" "$conf.before-adashta"
    echo "setup: $conf differed; the old one is $conf.before-adashta"
  fi
  "${sudo_cmd[@]}" mkdir -p /etc/containers
  printf '%s' "$container_conf" | "${sudo_cmd[@]}" tee "$conf" >/dev/null
  echo "setup: wrote $conf (runtime runc, ulimits)"
}

# The JavaScript plugin host (plugins/host/) needs Node.js 20 or later: its sandbox is Node's
# permission model. Debian 12's nodejs is 18; then npm's `node` package (Node.js 20 binaries
# from the npm registry, nothing else) goes to /usr/local, ahead of /usr/bin on PATH.
ensure_node20() {
  local major sudo_cmd=()
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if ((major >= 20)); then
    echo "setup: Node.js $(node --version)"
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  echo "setup: Node.js $(node --version 2>/dev/null || echo '(none)') is older than 20; installing node@20 from the npm registry into /usr/local"
  "${sudo_cmd[@]}" npm install --global --prefix /usr/local --no-audit --no-fund --loglevel=error node@20
  hash -r
  echo "setup: Node.js $(node --version)"
}

case "${1:-}" in
  --build-only)
    apt_install "${build_packages[@]}"
    exit 0
    ;;
  --runtime)
    apt_install "${runtime_packages[@]}"
    exit 0
    ;;
  --node)
    apt_install "${node_packages[@]}"
    ensure_node20
    exit 0
    ;;
  --container)
    apt_install "${container_packages[@]}"
    configure_containers
    exit 0
    ;;
  "") ;;
  *)
    echo "setup: unknown option $1; use --build-only, --runtime, --node, --container or nothing" >&2
    exit 2
    ;;
esac

# The container engine is not here: scripts/container.sh (and so the container test) runs
# setup.sh --container itself, and `scripts/run.sh` needs none of it.
apt_install "${build_packages[@]}" "${test_packages[@]}"
ensure_node20

# npm packages for the integration and browser tests.
if [[ ! -L $here/tests/node_modules ]] && { [[ ! -d $here/tests/node_modules ]] || [[ $here/tests/package-lock.json -nt $here/tests/node_modules/.package-lock.json ]]; }; then
  echo "setup: installing npm packages for tests/"
  (cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "setup: npm packages present"
fi

# The Node.js SDK (sdk/js: npm ci, then what it generates from proto/) and the examples on it.
echo "setup: Node.js SDK"
"$here/sdk/js/setup.sh"
if [[ ! -L $here/examples/node/node_modules ]] && { [[ ! -d $here/examples/node/node_modules ]] || [[ $here/examples/node/package-lock.json -nt $here/examples/node/node_modules/.package-lock.json ]]; }; then
  (cd "$here/examples/node" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The Go SDK's toolchain and modules (sdk/go/setup.sh: apt only for what is missing).
echo "setup: Go SDK modules"
"$here/sdk/go/setup.sh"

# kosoku (PyPI), the Autobahn TestSuite runner of tests/autobahn/run_cases.py, for the python3
# on PATH (ctest runs that one). A python3 that Debian manages (PEP 668: EXTERNALLY-MANAGED)
# gets it in the user's site-packages (--user), never in /usr; one from pyenv or a venv, in its own.
kosoku_version=0.1.0
if python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('kosoku') != '$kosoku_version')" 2>/dev/null; then
  echo "setup: kosoku $kosoku_version present"
else
  echo "setup: installing kosoku $kosoku_version (Autobahn cases) for $(command -v python3)"
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  pip_args=(install --quiet --disable-pip-version-check "kosoku==$kosoku_version")
  if python3 -c "import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"; then
    pip_args+=(--user --break-system-packages)
  fi
  python3 -m pip "${pip_args[@]}"
fi
