#!/usr/bin/env bash
# The image's HEALTHCHECK: GET /healthz on the edge's HTTP address (ADASHTA_HTTP, default
# 0.0.0.0:8080) and succeed when it answers "status":"ok". Plain bash (/dev/tcp), so the
# image needs no HTTP client.
set -euo pipefail
http="${ADASHTA_HTTP:-0.0.0.0:8080}"
host="${http%:*}" port="${http##*:}"
if [[ $host == 0.0.0.0 || $host == '*' || -z $host ]]; then host=127.0.0.1; fi
if [[ $host == '[::]' ]]; then host=::1; fi
host="${host#[}" host="${host%]}"
exec 3<>"/dev/tcp/$host/$port"
printf 'GET /healthz HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3
answer="$(timeout 2 cat <&3 || true)"  # the edge closes after the answer; 2 s at most
if [[ $answer != *'"status":"ok"'* ]]; then
  echo "unhealthy: /healthz on $host:$port answered: ${answer:0:300}" >&2
  exit 1
fi
echo "healthy: ${answer##*$'\r\n\r\n'}"
