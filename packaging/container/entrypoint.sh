#!/usr/bin/env bash
# The image's entry point (Dockerfile). Arguments go to `adashta`:
#
#   (none)               the example chat: an edge serving examples/chat/web and the C++ chat
#                        node adashta-chat, like scripts/run.sh
#   edge [APP_DIR] ...   an edge; the variables below come first, so flags given here win
#   anything else        `adashta ARGS...` as it is (peers, fetch, token, keys, --help, ...)
#
# Variables (docs/operations.md "Container"), each the edge flag of the same name:
#   ADASHTA_HTTP       --http       default 0.0.0.0:8080 (every address: -p 8080:8080 reaches it)
#   ADASHTA_MESH       --mesh       default 0.0.0.0:7700
#   ADASHTA_ADVERTISE  --advertise  the endpoint other members dial (tcp://edge:7700 in compose)
#   ADASHTA_DATA       --data       default /data (the volume)
#   ADASHTA_CONFIG     --config     default /etc/adashta/adashta.json when that file exists
#   ADASHTA_EDGE_NAME  --name       default edge
# The edge itself reads ADASHTA_SEEDS, ADASHTA_MESH_KEY, ADASHTA_MESH_SECRET,
# ADASHTA_MESH_ALLOW and ADASHTA_TOKEN_SECRET.
set -euo pipefail

chat_web=/usr/local/share/adashta/examples/chat/web

edge_flags=(--http "${ADASHTA_HTTP:-0.0.0.0:8080}" --mesh "${ADASHTA_MESH:-0.0.0.0:7700}"
            --data "${ADASHTA_DATA:-/data}" --name "${ADASHTA_EDGE_NAME:-edge}")
if [[ -n ${ADASHTA_ADVERTISE:-} ]]; then edge_flags+=(--advertise "$ADASHTA_ADVERTISE"); fi
if [[ -n ${ADASHTA_CONFIG:-} ]]; then
  if [[ ! -r $ADASHTA_CONFIG ]]; then
    echo "adashta-entrypoint: ADASHTA_CONFIG=$ADASHTA_CONFIG is not a readable file:" \
         "mount it (-v ./adashta.json:$ADASHTA_CONFIG:ro) or unset ADASHTA_CONFIG" >&2
    exit 2
  fi
  edge_flags+=(--config "$ADASHTA_CONFIG")
elif [[ -r /etc/adashta/adashta.json ]]; then
  edge_flags+=(--config /etc/adashta/adashta.json)
fi

# The chat node dials the edge's mesh on loopback, whatever address the mesh listens on.
local_mesh() {
  local mesh="${ADASHTA_MESH:-0.0.0.0:7700}"
  local host="${mesh%:*}" port="${mesh##*:}"
  host="${host#tcp://}"
  if [[ $host == 0.0.0.0 || $host == '*' || $host == '[::]' || -z $host ]]; then host=127.0.0.1; fi
  echo "tcp://$host:$port"
}

# Two processes under one PID 1: SIGTERM (podman stop) goes to both, and when either ends
# the other is stopped too, so the container lives exactly as long as the pair. Exits 0
# when both stopped cleanly, else with the edge's status, else the chat node's.
run_chat() {
  adashta edge "$chat_web" "${edge_flags[@]}" &
  local edge=$!
  # Not the edge's ADASHTA_ADVERTISE or seeds: the node has its own address on loopback.
  env -u ADASHTA_ADVERTISE ADASHTA_SEEDS="$(local_mesh)" ADASHTA_NAME=chat adashta-chat &
  local chat=$!
  # One SIGTERM each: a second one makes the edge skip its drain (and exit 143).
  local stopping=0
  trap 'stopping=1; kill -TERM "$edge" "$chat" 2>/dev/null || true' TERM INT
  wait -n "$edge" "$chat" || true
  if ((stopping == 0)); then kill -TERM "$edge" "$chat" 2>/dev/null || true; fi
  local edge_status=0 chat_status=0
  wait "$edge" || edge_status=$?
  wait "$chat" || chat_status=$?
  if ((edge_status != 0)); then exit "$edge_status"; fi
  exit "$chat_status"
}

if [[ $# -eq 0 ]]; then
  run_chat
fi
if [[ $1 == edge ]]; then
  shift
  exec adashta edge "${edge_flags[@]}" "$@"
fi
exec adashta "$@"
