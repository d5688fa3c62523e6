#!/usr/bin/env bash
# Runs every benchmark scenario side by side with the peer systems and writes bench/results/
# (results.md, results.json, chart.png). Installs what it needs first (idempotent).
#   bash bench/run.sh                  the full run (about 10 minutes)
#   bash bench/run.sh --quick          a short smoke run (numbers not comparable)
#   bash bench/run.sh --only ingress,reqrep --systems adashta,nats
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh"
bash "$here/bench/setup.sh"
bash "$here/scripts/build.sh" >/dev/null
# 50,000 idle connections need that many descriptors in the load generator and the server.
# Root may raise the hard limit; others get what the hard limit allows.
ulimit -n 120000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < 120000 )); then
  echo "bench: only $(ulimit -n) file descriptors: the 50,000-connection idle run will fail (run as root)" >&2
fi
export ADASHTA_BENCH_NOFILE="$(ulimit -n)"
exec node "$here/bench/run.mjs" "$@"
