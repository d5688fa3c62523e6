#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole suite with ctest
# (unit tests, the loopback cluster, bad input, the browser tests in headless Chromium and,
# as root, beacon discovery in network namespaces). Ends with ctest's summary line.
#   scripts/test.sh                  everything
#   scripts/test.sh -R browser       only tests whose name matches (ctest -R)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
"$here/scripts/build.sh"
cd "${ADASHTA_BUILD_DIR:-$here/build}"
exec ctest --output-on-failure --timeout 300 "$@"
