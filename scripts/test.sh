#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole suite with ctest
# (unit tests, the loopback cluster, bad input, the browser tests in headless Chromium and,
# as root, beacon discovery in network namespaces). Ends with ctest's summary line.
#
# First the suite runs against an AddressSanitizer + UndefinedBehaviorSanitizer build in
# build-asan/ (but beacons, the durability load tests whose timings an instrumented build
# would distort, and the container image, a Release build of its own); then everything
# against the normal build, whose summary ends the run. Between the two, the libFuzzer
# targets run for a bounded time each (scripts/fuzz.sh, build-fuzz/; a finding fails the run).
#   scripts/test.sh                  everything
#   scripts/test.sh -R browser       only tests whose name matches (ctest -R); no fuzzing
#   ADASHTA_SANITIZE=0 scripts/test.sh   skip the sanitizer pass
#   ADASHTA_FUZZ=0 scripts/test.sh       skip the fuzz run
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
"$here/scripts/build.sh"
if [[ ${ADASHTA_SANITIZE:-1} != 0 ]]; then
  ADASHTA_BUILD_DIR= "$here/scripts/build.sh" --sanitize
  echo "== the suite under ASan/UBSan (build-asan/)"
  (cd "$here/build-asan" && ctest --output-on-failure --timeout 300 -E "netns|durability|work queues|container" "$@")
fi
if [[ $# -eq 0 && ${ADASHTA_FUZZ:-1} != 0 ]]; then
  echo "== the fuzz targets, ${ADASHTA_FUZZ_SECONDS:-20} s each (scripts/fuzz.sh, build-fuzz/)"
  "$here/scripts/fuzz.sh"
fi
echo "== the suite (${ADASHTA_BUILD_DIR:-build/})"
cd "${ADASHTA_BUILD_DIR:-$here/build}"
exec ctest --output-on-failure --timeout 300 "$@"
