#!/usr/bin/env bash
# The run command: installs what is missing, builds, and starts an edge on port 8080 with
# the example chat app (examples/chat) and its C++ server node. Open http://localhost:8080/
# in two tabs and chat. Ctrl-C stops both.
#
#   ADASHTA_HTTP=127.0.0.1:9090 ADASHTA_MESH=127.0.0.1:7800 bash scripts/run.sh
#   ADASHTA_DATA=/tmp/chat-data bash scripts/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
echo "run: building (the first build takes a few minutes)"
"$here/scripts/build.sh"
build="${ADASHTA_BUILD_DIR:-$here/build}"
http="${ADASHTA_HTTP:-0.0.0.0:8080}"
mesh="${ADASHTA_MESH:-127.0.0.1:7700}"
port="${http##*:}"

"$build/adashta" edge "$here/examples/chat/web" --http "$http" --mesh "$mesh" \
  --data "${ADASHTA_DATA:-$here/adashta-data}" --name edge &
edge=$!
ADASHTA_NAME=chat ADASHTA_SEEDS="tcp://$mesh" "$build/adashta-chat" &
chat=$!
trap 'kill $chat $edge 2>/dev/null; wait $chat $edge 2>/dev/null' EXIT

# The URL is printed once the edge answers /healthz, not before: a page opened earlier
# would find nothing there.
healthy() {
  { exec 3<>"/dev/tcp/127.0.0.1/$port" &&
    printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 &&
    head -c 12 <&3; } 2>/dev/null | grep -q '^HTTP/1\.[01] 200'
}
for _ in $(seq 1 100); do
  if ! kill -0 "$edge" 2>/dev/null; then
    wait "$edge" || exit $?  # the edge said why it stopped
    exit 1
  fi
  if healthy; then
    echo "Adashta Queue: chat on http://localhost:$port/  (Ctrl-C stops)"
    break
  fi
  sleep 0.2
done
wait "$edge"
