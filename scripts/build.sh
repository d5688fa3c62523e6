#!/usr/bin/env bash
# Configures and builds Adashta Queue into build/ (or $ADASHTA_BUILD_DIR).
#   scripts/build.sh                 RelWithDebInfo
#   scripts/build.sh --sanitize      AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ADASHTA_BUILD_DIR:-$here/build}"
extra=()
if [[ ${1:-} == --sanitize ]]; then
  build="${ADASHTA_BUILD_DIR:-$here/build-asan}"
  extra=(-DADASHTA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
fi
if [[ ! -f $build/build.ninja ]]; then
  cmake -S "$here" -B "$build" -G Ninja "${extra[@]}" >/dev/null
fi
ninja -C "$build"
