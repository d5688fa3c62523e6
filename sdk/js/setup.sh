#!/usr/bin/env bash
# Installs the package's dependencies (exactly package-lock.json) and builds what it
# generates from proto/ (generated/, dist/). Idempotent: run it again after a pull.
#
#   sdk/js/setup.sh
set -euo pipefail
# A node_modules that is a symbolic link (a git worktree sharing another checkout's) is left
# alone: npm ci would empty the folder it points to.
cd "$(dirname "$0")"
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
# The tests reuse tests/lib/cluster.mjs, which needs the tests' own dependencies (ws).
if [ ! -L ../../tests/node_modules ] && [ ! -d ../../tests/node_modules ]; then
  (cd ../../tests && npm ci --no-audit --no-fund)
fi
