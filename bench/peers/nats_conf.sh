#!/usr/bin/env bash
# Writes a nats-server (2.9, Debian's) configuration for the benchmarks to stdout:
# client port and WebSocket port on loopback, JetStream with file storage in STORE_DIR,
# no HTTP monitoring port, everything else (max_payload 1 MB, no compression) default.
#
#   bench/peers/nats_conf.sh 24222 24223 /tmp/nats-bench > /tmp/nats-bench.conf
#   nats-server -c /tmp/nats-bench.conf
set -euo pipefail
if [[ $# -ne 3 || ! $1 =~ ^[0-9]+$ || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: nats_conf.sh PORT WS_PORT STORE_DIR > nats.conf" >&2
  exit 2
fi
port=$1 ws_port=$2 store_dir=$3

cat <<CONF
# nats-server for Adashta's benchmarks (written by bench/peers/nats_conf.sh).
listen: 127.0.0.1:$port

# adashta-bench --proto nats connects here (ws://127.0.0.1:$ws_port/).
websocket {
  listen: "127.0.0.1:$ws_port"
  no_tls: true
}

# The durable scenario's stream BENCH (file storage) lives here.
jetstream {
  store_dir: "$store_dir"
}
CONF
