#!/usr/bin/env bash
# The run command: installs what is missing, builds, and starts an edge on port 8080 with
# the example chat app (examples/chat) and its C++ server node. Open http://localhost:8080/
# in two tabs and chat. Ctrl-C stops both.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
"$here/scripts/build.sh" >/dev/null
build="${ADASHTA_BUILD_DIR:-$here/build}"
http="${ADASHTA_HTTP:-0.0.0.0:8080}"

ADASHTA_NAME=chat "$build/adashta-chat" &
chat=$!
trap 'kill $chat 2>/dev/null; wait $chat 2>/dev/null' EXIT
echo "Adashta Queue: chat on http://localhost:${http##*:}/  (Ctrl-C stops)"
"$build/adashta" edge "$here/examples/chat/web" --http "$http" --data "${ADASHTA_DATA:-$here/adashta-data}" --name edge
