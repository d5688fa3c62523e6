#!/usr/bin/env bash
# The image's HEALTHCHECK: GET /healthz on the edge's HTTP address and succeed when it answers
# "status":"ok". The address is the running edge's last --http (the entry point puts
# ADASHTA_HTTP first, so a flag given after the image wins, as in the edge), else
# ADASHTA_HTTP, else 0.0.0.0:8080. Plain bash (/dev/tcp): the image needs no HTTP client.
set -euo pipefail

# The --http the edge process was started with, if an edge runs in this container.
edge_http() {
  local cmdline args i http=""
  for cmdline in /proc/[0-9]*/cmdline; do
    mapfile -d '' -t args <"$cmdline" 2>/dev/null || continue
    if ((${#args[@]} < 2)) || [[ ${args[0]##*/} != adashta || ${args[1]} != edge ]]; then continue; fi
    for ((i = 2; i < ${#args[@]}; i++)); do
      case ${args[i]} in
        --http) http="${args[i + 1]:-}" ;;
        --http=*) http="${args[i]#--http=}" ;;
      esac
    done
    break
  done
  echo "${http:-${ADASHTA_HTTP:-0.0.0.0:8080}}"
}

http="$(edge_http)"
host="${http%:*}" port="${http##*:}"
if [[ $host == 0.0.0.0 || $host == '*' || -z $host ]]; then host=127.0.0.1; fi
if [[ $host == '[::]' ]]; then host=::1; fi
host="${host#[}" host="${host%]}"
if ! exec 3<>"/dev/tcp/$host/$port"; then
  echo "unhealthy: nothing listens on $host:$port" >&2
  exit 1
fi
printf 'GET /healthz HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3
answer="$(timeout 2 cat <&3 || true)"  # the edge closes after the answer; 2 s at most
if [[ $answer != *'"status":"ok"'* ]]; then
  echo "unhealthy: /healthz on $host:$port answered: ${answer:0:300}" >&2
  exit 1
fi
echo "healthy: ${answer##*$'\r\n\r\n'}"
