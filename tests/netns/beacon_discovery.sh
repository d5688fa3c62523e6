#!/usr/bin/env bash
# Beacon discovery: in network namespaces this script creates (a bridge, no seeds), an edge
# and four server nodes (two C++, one Node.js, one Go) find each other by UDP beacon and
# exchange messages, and no beacon ever leaves those namespaces.
#
#   sudo tests/netns/beacon_discovery.sh        # needs root and `ip netns`; about 5 s
#
# Topology (every link lives in a namespace created here; nothing is added to the namespace
# the script runs in, called "the host" below):
#
#   adashta-t-PID-edge    adashta-t-PID-n1      adashta-t-PID-n2
#   adq-beacon 10.77.S.1  adq-beacon 10.77.S.11 adq-beacon 10.77.S.12
#        |  veth               |  veth               |  veth
#   p-edge ------------- br0 10.77.S.254 ---------- p-n2       (adashta-t-PID-sw)
#                           |       |
#                        p-js       p-go
#        adq-beacon 10.77.S.13 |       | adq-beacon 10.77.S.14
#          adashta-t-PID-js         adashta-t-PID-go
#
# S is derived from the script's PID, so a leaked beacon can be told apart from any other.
# Processes: `adashta edge --beacon adq-beacon` in the edge namespace, `adashta-test-node`
# with ADASHTA_BEACON=adq-beacon in n1 and n2, and with the same variable the conformance
# drivers (tests/conformance/DRIVER.md) of the JavaScript SDK (sdk/js/test/driver.mjs) in js
# and of the Go SDK (built here from sdk/go with `go build`) in go, told over a FIFO to
# connect and to consume "work" answering like the test node. All are started with an empty
# environment (no ADASHTA_SEEDS, no ZSYS_INTERFACE), so beacons are the only way they can
# meet. A node with a beacon and no seeds does not fall back to tcp://127.0.0.1:7700
# (sdk/cpp/src/node.cpp, sdk/js/src/options.js, sdk/go/options.go). The js node binds
# loopback (tcp://127.0.0.1:7701), which the beacon moves to its interface address; the go
# node binds the wildcard (tcp://*:7701) and advertises the interface address.
#
# Checks, in order: the JS and Go drivers' connect succeeds (an edge counts each in); the
# edge's /healthz reports nodes=4; `adashta peers --json`, run in n1 with only
# ADASHTA_BEACON set (it too finds the mesh by beacon), lists the edge and the four nodes at
# their interface addresses; tests/netns/exchange.mjs, run in the edge namespace, produces on
# "work" from several WebSocket sessions and gets every message acked and answered, by every
# node; then the beacon containment checks described at check_containment.
#
# With ADASHTA_NETNS_CURVE=1 the same runs on a CURVE mesh (docs/security.md): each member
# has its own key and the allow-list; beacons carry the keys, and a forged beacon sent from
# the switch namespace with a key the allow-list does not know is ignored and logged by the
# edge and by the JS and Go nodes.
#
# Prints "beacon discovery: PASS" and exits 0, or "FAIL: <why>" (with the tails of the
# processes' logs) and exits 1; also exits 1 when it cannot run (not root, no `ip netns`).
# Everything it starts or creates is removed on exit, also on failure or Ctrl-C; namespaces
# left by an earlier run that was killed are removed at start.

set -uo pipefail

readonly SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
readonly BUILD_DIR=${ADASHTA_BUILD_DIR:-$REPO_DIR/build}
readonly BUDGET_S=52                       # then cleanup (at most ~5 s): under 60 s in all
readonly BEACON_PORT=5670
readonly BEACON_IF=adq-beacon              # exists only inside the namespaces made here
readonly HTTP_PORT=8080                    # inside the edge namespace, so always free
readonly NS_PREFIX=adashta-t-
readonly RUN=$NS_PREFIX$$
readonly SUBNET=10.77.$(( $$ % 200 + 20 ))
readonly NS_SWITCH=$RUN-sw
readonly TMP_PARENT=${TMPDIR:-/tmp}

# host name -> namespace, address; the edge is a host like the nodes.
declare -A HOST_NS=([edge]=$RUN-edge [n1]=$RUN-n1 [n2]=$RUN-n2 [js]=$RUN-js [go]=$RUN-go)
declare -A HOST_IP=([edge]=$SUBNET.1 [n1]=$SUBNET.11 [n2]=$SUBNET.12 [js]=$SUBNET.13 [go]=$SUBNET.14)
readonly HOSTS=(edge n1 n2 js go)
readonly DRIVERS=(js go)                   # SDK conformance drivers, commanded over a FIFO

declare -A PIDS=()        # name -> pid of every long-running process started here
declare -A STDIN_OF=()    # name -> what start gives as stdin (default /dev/null)
declare -A COMMAND_FD=()  # driver name -> fd of this script's end of its FIFO
GO_DRIVER=""              # the Go SDK's conformance driver, built into TMP_DIR
CREATED_NS=()             # namespaces to delete on exit
TMP_DIR=""
WATCHDOG_PID=""
START_MS=$(( ${EPOCHREALTIME/./} / 1000 ))

# --- output -------------------------------------------------------------------------

now_ms() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); }
say() {
    local ms=$(( $(now_ms) - START_MS ))
    printf '[%3d.%ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}

print_logs() {
    [[ -n $TMP_DIR && -d $TMP_DIR ]] || return 0
    local log
    for log in "$TMP_DIR"/*.log; do
        [[ -e $log ]] || continue
        echo "--- $(basename "$log") (last 25 lines) ---"
        tail -n 25 "$log"
    done
    echo "---"
}

fail() {
    echo "FAIL: $*"
    print_logs
    exit 1
}

# --- processes ----------------------------------------------------------------------

# A child of this script that has exited stays a zombie until waited for; kill -0 would
# still succeed on it, so look at its state instead.
is_running() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

# stop NAME...: SIGTERM to each process named in PIDS, SIGKILL to those still running 2 s
# later; reaps them and forgets them.
stop() {
    local name pid i running
    for name in "$@"; do
        pid=${PIDS[$name]:-}
        [[ -n $pid ]] && is_running "$pid" && kill -TERM "$pid" 2>/dev/null
    done
    for ((i = 0; i < 20; ++i)); do
        running=0
        for name in "$@"; do
            pid=${PIDS[$name]:-}
            [[ -n $pid ]] && is_running "$pid" && running=1
        done
        ((running)) || break
        sleep 0.1
    done
    for name in "$@"; do
        pid=${PIDS[$name]:-}
        [[ -n $pid ]] || continue
        is_running "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        unset "PIDS[$name]"
    done
}

# start NAME NAMESPACE [VAR=VALUE...] PROGRAM ARGS...: runs PROGRAM in NAMESPACE in the
# background with only PATH, HOME and the given variables, output to $TMP_DIR/NAME.log.
# In a session of its own, so a Ctrl-C reaches only this script, whose trap then stops
# everything in order. setsid (not a group leader here), `ip netns exec` and `env` all
# exec, so $! is the program's own pid; check_process_namespaces would notice otherwise.
start() {
    local name=$1 ns=$2
    shift 2
    setsid ip netns exec "$ns" env -i PATH="$PATH" HOME="$TMP_DIR" "$@" \
        <"${STDIN_OF[$name]:-/dev/null}" >"$TMP_DIR/$name.log" 2>&1 &
    PIDS[$name]=$!
}

# Fails the test when one of the adashta processes has died on its own.
check_alive() {
    local name
    for name in "${HOSTS[@]}"; do
        [[ -n ${PIDS[$name]:-} ]] || continue
        is_running "${PIDS[$name]}" && continue
        wait "${PIDS[$name]}"
        fail "$name exited early with status $? (see its log below)"
    done
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 100 ms; fails the test on timeout.
wait_until() {
    local deadline=$(( $(now_ms) + $1 * 1000 )) what=$2
    shift 2
    until "$@"; do
        check_alive
        (( $(now_ms) < deadline )) || fail "timed out after $1 s waiting for $what"
        sleep 0.1
    done
}

# Start time of a process in clock ticks since boot: with the pid, it names one process.
start_time_of() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# Bounds the run even if a step hangs in a way its own timeout misses: sends this script
# SIGTERM after BUDGET_S seconds. It ends by itself as soon as the script is gone (even
# after SIGKILL), and it never signals a later process that reused the script's pid.
start_watchdog() {
    local script_start
    script_start=$(start_time_of $$)
    (
        trap 'kill "$waiter" 2>/dev/null; exit 0' TERM
        timeout "$BUDGET_S" tail --pid=$$ -s 0.5 -f /dev/null &
        waiter=$!
        wait "$waiter"
        if [[ $? == 124 && $(start_time_of $$) == "$script_start" ]]; then kill -TERM $$; fi
    ) </dev/null >/dev/null 2>&1 &
    WATCHDOG_PID=$!
}

# --- SDK drivers --------------------------------------------------------------------

# The Go SDK's conformance driver, built from this tree's sdk/go (what is under test).
build_go_driver() {
    GO_DRIVER=$TMP_DIR/adashta-go-conformance-driver
    (cd "$REPO_DIR/sdk/go" && go build -buildvcs=false -o "$GO_DRIVER" ./cmd/adashta-conformance-driver) \
        >"$TMP_DIR/go-build.log" 2>&1 ||
        fail "go build of sdk/go/cmd/adashta-conformance-driver failed: $(tail -n 5 "$TMP_DIR/go-build.log")"
}

# start_driver NAME [VAR=VALUE...] PROGRAM ARGS...: start in NAME's namespace, reading
# commands from a FIFO that this script holds open read-write (so opening it never waits
# for the other side, and the driver never sees end of input while the script runs).
start_driver() {
    local name=$1 fifo="$TMP_DIR/$1.in" fd
    shift
    mkfifo "$fifo" || fail "mkfifo $fifo failed"
    exec {fd}<>"$fifo"
    COMMAND_FD[$name]=$fd
    STDIN_OF[$name]=$fifo
    start "$name" "${HOST_NS[$name]}" "$@"
}

# send_command NAME JSON: one command line (DRIVER.md) to driver NAME.
send_command() { echo "$2" >&"${COMMAND_FD[$1]}"; }

# driver_ok NAME REF: true once driver NAME answered command REF with ok; fails the test on
# an error answer. (Go's driver writes keys sorted, JS's in its own order.)
driver_ok() {
    local answer
    answer=$(grep -E "^\{.*\"ref\":$2[,}]" "$TMP_DIR/$1.log")
    [[ -n $answer ]] || return 1
    grep -q '"ok":true' <<<"$answer" || fail "the $1 driver refused command $2: $answer"
}

# command_drivers: each driver connects (it resolves once an edge counts it in: found by
# beacon, since it has no seeds) and consumes "work", answering every message to its sender
# with {"node": NAME, "data": DATA}, as adashta-test-node does.
command_drivers() {
    local name
    for name in "${DRIVERS[@]}"; do send_command "$name" '{"cmd":"connect","ref":1}'; done
    for name in "${DRIVERS[@]}"; do
        wait_until 12 "the $name driver to connect (an edge found by beacon)" driver_ok "$name" 1
        send_command "$name" '{"cmd":"consume","ref":2,"queue":"work","behavior":"echo"}'
    done
    for name in "${DRIVERS[@]}"; do
        wait_until 5 "the $name driver to consume work" driver_ok "$name" 2
    done
}

# --- namespaces ---------------------------------------------------------------------

netns_inode() { stat -Lc %i "/run/netns/$1" 2>/dev/null; }

# Kills what still runs in NAMESPACE and deletes it (its veths and bridge go with it).
delete_ns() {
    local ns=$1 pid
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill -KILL "$pid" 2>/dev/null
    done
    ip netns del "$ns" 2>/dev/null
}

# True when PID is a run of this script other than this one.
is_live_run() {
    [[ $1 != "$$" ]] && tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q beacon_discovery
}

# Namespaces adashta-t-PID-* and temp dirs adashta-t-PID.* whose PID is no longer a run of
# this script were left by a run that was killed (SIGKILL skips the trap): remove them, and
# whatever still runs in those namespaces.
remove_stale_runs() {
    local ns dir
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        [[ $ns =~ ^${NS_PREFIX}([0-9]+)- && ${BASH_REMATCH[1]} != "$$" ]] || continue
        is_live_run "${BASH_REMATCH[1]}" && continue
        say "removing stale namespace $ns"
        delete_ns "$ns"
    done
    for dir in "$TMP_PARENT/$NS_PREFIX"[0-9]*.??????; do
        [[ -d $dir && $dir =~ /${NS_PREFIX}([0-9]+)\.[A-Za-z0-9]{6}$ && ${BASH_REMATCH[1]} != "$$" ]] || continue
        is_live_run "${BASH_REMATCH[1]}" && continue
        say "removing stale temp dir $dir"
        rm -rf -- "$dir"
    done
}

add_ns() {
    ip netns add "$1" || fail "could not create network namespace $1"
    CREATED_NS+=("$1")
    ip -n "$1" link set lo up || fail "could not bring up lo in $1"
}

# The switch namespace holds the bridge; each host namespace gets a veth whose other end is
# a bridge port. Both ends are made inside namespaces (`ip -n`), never in the host's.
build_topology() {
    add_ns "$NS_SWITCH"
    ip -n "$NS_SWITCH" link add br0 type bridge || fail "could not create the bridge"
    # An address on the bridge lets a listener in the switch namespace hear the broadcasts.
    ip -n "$NS_SWITCH" addr add "$SUBNET.254/24" dev br0
    ip -n "$NS_SWITCH" link set br0 up
    local host ns
    for host in "${HOSTS[@]}"; do
        ns=${HOST_NS[$host]}
        add_ns "$ns"
        ip -n "$NS_SWITCH" link add "p-$host" type veth peer name "$BEACON_IF" netns "$ns" ||
            fail "could not create the veth pair for $host"
        ip -n "$NS_SWITCH" link set "p-$host" master br0 up
        ip -n "$ns" addr add "${HOST_IP[$host]}/24" dev "$BEACON_IF"
        ip -n "$ns" link set "$BEACON_IF" up || fail "could not bring up $BEACON_IF in $ns"
    done
}

# --- UDP listeners ------------------------------------------------------------------

# Logs every datagram to BEACON_PORT as one JSON line {"from":..., "data":...}; prints
# {"listening":true} once bound. SO_REUSEADDR so it can share the port with zbeacon. It
# exits when this script is gone, even after a SIGKILL: the one in the host's namespace
# would otherwise outlive the run, which no namespace cleanup can reach.
readonly LISTENER_JS='
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 250);
const dgram = require("node:dgram");
const port = Number(process.argv[1]);
const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
socket.on("error", (err) => { console.log(JSON.stringify({ error: err.message })); process.exit(1); });
socket.on("message", (msg, from) => console.log(JSON.stringify({ from: from.address, data: msg.toString("latin1") })));
socket.bind(port, "0.0.0.0", () => console.log(JSON.stringify({ listening: true })));
process.on("SIGTERM", () => process.exit(0));
'

# start_listener NAME: in the host's namespace when NAME is "host", else in namespace NAME.
start_listener() {
    local name=$1 log="$TMP_DIR/udp-$1.log"
    if [[ $name == host ]]; then
        setsid node -e "$LISTENER_JS" "$BEACON_PORT" >"$log" 2>&1 &
    else
        setsid ip netns exec "$name" node -e "$LISTENER_JS" "$BEACON_PORT" >"$log" 2>&1 &
    fi
    PIDS[udp-$name]=$!
    wait_until 5 "the UDP listener in $name" grep -q -e '"listening"' -e '"error"' "$log"
    grep -q '"error"' "$log" && fail "cannot listen on UDP $BEACON_PORT in $name: $(cat "$log")"
}

# --- checks -------------------------------------------------------------------------

health() { ip netns exec "${HOST_NS[edge]}" curl -s --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz"; }
edge_sees_every_node() { health | grep -q "\"nodes\":$(( ${#HOSTS[@]} - 1 ))[,}]"; }

# Every adashta process must run in the namespace made for it, not in the host's: this is
# what makes --beacon adq-beacon mean the veth and nothing else.
check_process_namespaces() {
    local host_ns pid_ns name
    host_ns=$(stat -Lc %i /proc/$$/ns/net)
    for name in "${HOSTS[@]}"; do
        pid_ns=$(stat -Lc %i "/proc/${PIDS[$name]}/ns/net" 2>/dev/null) || fail "$name is not running"
        [[ $pid_ns != "$host_ns" ]] || fail "$name runs in the host's network namespace"
        [[ $pid_ns == "$(netns_inode "${HOST_NS[$name]}")" ]] || fail "$name is not in ${HOST_NS[$name]}"
    done
}

# Exits 0 when each wanted peer (argv[1], a JSON array of {name, role, endpoint, queue?})
# is among the `adashta peers --json` lines on stdin.
readonly PEERS_MATCH_JS='
const wanted = JSON.parse(process.argv[1]);
const peers = require("node:fs").readFileSync(0, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const listed = (w) => peers.some((p) => p.name === w.name && p.role === w.role &&
    p.endpoint === w.endpoint && (!w.queue || p.queues.includes(w.queue)));
process.exit(wanted.every(listed) ? 0 : 1);
'

PEERS_OUT=""
peers_lists_everyone() {
    PEERS_OUT=$(ip netns exec "${HOST_NS[n1]}" env -i PATH="$PATH" HOME="$TMP_DIR" \
        ADASHTA_BEACON="$BEACON_IF" ADASHTA_BEACON_PORT="$BEACON_PORT" \
        ADASHTA_HEARTBEAT_MS=200 ADASHTA_PEER_TIMEOUT_MS=1000 "${TOOL_CURVE[@]}" \
        timeout 6 "$BUILD_DIR/adashta" peers --json --timeout-ms 4000 2>"$TMP_DIR/peers.log")
    echo "$PEERS_OUT" >>"$TMP_DIR/peers.log"
    node -e "$PEERS_MATCH_JS" "[
        {\"name\":\"edge\",\"role\":\"edge\",\"endpoint\":\"tcp://${HOST_IP[edge]}:7700\"},
        {\"name\":\"n1\",\"role\":\"node\",\"endpoint\":\"tcp://${HOST_IP[n1]}:7701\",\"queue\":\"work\"},
        {\"name\":\"n2\",\"role\":\"node\",\"endpoint\":\"tcp://${HOST_IP[n2]}:7701\",\"queue\":\"work\"},
        {\"name\":\"js\",\"role\":\"node\",\"endpoint\":\"tcp://${HOST_IP[js]}:7701\",\"queue\":\"work\"},
        {\"name\":\"go\",\"role\":\"node\",\"endpoint\":\"tcp://${HOST_IP[go]}:7701\",\"queue\":\"work\"}]" <<<"$PEERS_OUT"
}

# Why these checks prove containment, and why they are not vacuous:
#  1. Structure. Every adashta process was checked to run in a namespace made here
#     (check_process_namespaces). A namespace can only send on its own interfaces: lo and
#     adq-beacon, a veth into the switch namespace, whose bridge has no port outside the
#     namespaces made here. Nothing is added to the host's namespace: it must have no link
#     named adq-beacon before the run, and none of the links made here after it.
#  2. Observation in the host. A listener bound to 0.0.0.0:BEACON_PORT in the host's
#     namespace ran from before the first adashta process started until after the last one
#     stopped. Had any process (say, one started without `ip netns exec`) beaconed on a real
#     interface, Linux loops a host's own subnet broadcasts back to its local sockets, so the
#     listener would have heard it. It must hear no beacon of this run: none that names one
#     of our 10.77.S.x endpoints or comes from 10.77.S.x. (Datagrams from elsewhere on the
#     machine are reported, not failed on: they are not ours, and this run cannot stop them.)
#     Counters such as /proc/net/dev or ip -s link are too noisy on a busy host for this.
#  3. Non-vacuity. A listener in the switch namespace, on the same port, must have heard
#     beacons from the edge and every node: beacons were really sent, and on the bridge.
check_containment() {
    local host name leaked foreign
    for host in "${HOSTS[@]}"; do
        grep -q "\"from\":\"${HOST_IP[$host]}\",\"data\":\"ADASHTA1 " "$TMP_DIR/udp-$NS_SWITCH.log" ||
            fail "the switch namespace heard no beacon from $host (${HOST_IP[$host]}); the containment check would be vacuous"
    done
    say "switch namespace heard $(grep -c '"from"' "$TMP_DIR/udp-$NS_SWITCH.log") beacons from ${HOSTS[*]}"

    leaked=$(grep -F -e "\"from\":\"$SUBNET." -e "tcp://$SUBNET." "$TMP_DIR/udp-host.log")
    [[ -z $leaked ]] || fail "beacons of this run reached the host's namespace:"$'\n'"$leaked"
    foreign=$(grep -c '"from"' "$TMP_DIR/udp-host.log")
    if ((foreign > 0)); then
        say "note: the host's namespace heard $foreign datagram(s) on UDP $BEACON_PORT from other sources:"
        grep '"from"' "$TMP_DIR/udp-host.log" | head -n 5
    else
        say "host namespace heard 0 datagrams on UDP $BEACON_PORT"
    fi

    for name in "$BEACON_IF" br0 "${HOSTS[@]/#/p-}"; do
        ! ip link show "$name" >/dev/null 2>&1 || fail "link $name appeared in the host's namespace"
    done
}

# --- CURVE (ADASHTA_NETNS_CURVE=1) ----------------------------------------------------

readonly CURVE=${ADASHTA_NETNS_CURVE:-0}
EDGE_CURVE=()
declare -A NODE_CURVE=()
TOOL_CURVE=()
STRANGER_KEY=""

new_key() {  # new_key NAME: makes $TMP_DIR/NAME.key(_secret), prints the public key
    "$BUILD_DIR/adashta" keys new "$TMP_DIR/$1.key" --name "$1" >/dev/null || fail "adashta keys new failed"
    "$BUILD_DIR/adashta" keys show "$TMP_DIR/$1.key"
}

setup_curve() {
    local allow="$TMP_DIR/mesh-allow" name
    {
        echo "$(new_key edge) edge  # the edge (found by beacon, so no endpoint is needed)"
        for name in n1 n2 "${DRIVERS[@]}"; do echo "$(new_key "$name") node  # $name"; done
        echo "$(new_key tool) tool  # adashta peers"
    } >"$allow"
    STRANGER_KEY=$(new_key stranger)  # made, never allowed
    EDGE_CURVE=(--mesh-key "$TMP_DIR/edge.key_secret" --mesh-allow "$allow")
    for name in n1 n2 "${DRIVERS[@]}"; do
        NODE_CURVE[$name]="ADASHTA_MESH_KEY=$TMP_DIR/$name.key_secret ADASHTA_MESH_ALLOW=$allow"
    done
    TOOL_CURVE=(ADASHTA_MESH_KEY="$TMP_DIR/tool.key_secret" ADASHTA_MESH_ALLOW="$allow")
    say "CURVE on: keys for edge, n1, n2, ${DRIVERS[*]} and the tool in $allow"
}

# forged_beacons_logged NAME: NAME's line about the forged beacons; fixed strings: a Z85
# key holds [ ] * . and such.
forged_beacons_logged() {
    grep -F "ignored beacons from $SUBNET.254 " "$TMP_DIR/$1.log" |
        grep -qF "key $STRANGER_KEY is not in the allow-list"
}

# Broadcasts, from the switch namespace, beacons that name a member the allow-list does not
# know; the edge and the JS and Go nodes must ignore them and say so once.
forge_beacons() {
    ip netns exec "$NS_SWITCH" node -e '
        const s = require("node:dgram").createSocket("udp4");
        const [, port, to, payload] = process.argv;
        s.bind(() => {
            s.setBroadcast(true);
            let n = 0;
            const t = setInterval(() => {
                s.send(payload, Number(port), to);
                if (++n === 10) { clearInterval(t); setTimeout(() => s.close(), 100); }
            }, 100);
        });' "$BEACON_PORT" "$SUBNET.255" "ADASHTA1 0123456789abcdef0123456789abcdef tcp://$SUBNET.254:7799 $STRANGER_KEY" ||
        fail "could not send the forged beacons"
    local name
    for name in edge "${DRIVERS[@]}"; do
        wait_until 5 "the $name to log the forged beacons as ignored" forged_beacons_logged "$name"
        (( $(grep -cF "key $STRANGER_KEY is not in the allow-list" "$TMP_DIR/$name.log") == 1 )) ||
            fail "the $name logged the forged beacons more than once"
    done
    say "forged beacons from $SUBNET.254 with an unknown key: ignored and logged once by edge ${DRIVERS[*]}"
    grep -q "0123456789abcdef0123456789abcdef" <<<"$(health)" && fail "the forged member reached the edge"
    return 0
}

# --- cleanup ------------------------------------------------------------------------

cleanup() {
    local status=$? ns
    trap - EXIT INT TERM
    # adashta processes first (so they stop beaconing while the listeners still listen),
    # then the listeners, then the namespaces with whatever might still run in them.
    stop "${HOSTS[@]}"
    stop "${!PIDS[@]}"
    for ns in "${CREATED_NS[@]}"; do
        delete_ns "$ns"
    done
    if [[ -n $WATCHDOG_PID ]]; then
        kill -TERM "$WATCHDOG_PID" 2>/dev/null
        wait "$WATCHDOG_PID" 2>/dev/null
    fi
    [[ -n $TMP_DIR ]] && rm -rf "$TMP_DIR"
    exit "$status"
}

# --- main ---------------------------------------------------------------------------

main() {
    if [[ $(id -u) != 0 ]]; then
        echo "FAIL: cannot run: beacon_discovery.sh needs root to create network namespaces (run it with sudo)"
        exit 1
    fi
    if ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
        echo "FAIL: cannot run: \`ip netns\` is unavailable (install iproute2; the kernel needs network namespaces)"
        exit 1
    fi
    local tool
    for tool in node curl timeout tail ps stat setsid; do
        command -v "$tool" >/dev/null || { echo "FAIL: cannot run: $tool is not installed"; exit 1; }
    done
    for tool in "$BUILD_DIR/adashta" "$BUILD_DIR/adashta-test-node"; do
        [[ -x $tool ]] || { echo "FAIL: cannot run: $tool is missing; build first (or set ADASHTA_BUILD_DIR)"; exit 1; }
    done
    command -v go >/dev/null || { echo "FAIL: cannot run: go is not installed (see sdk/go/setup.sh)"; exit 1; }
    [[ -d $REPO_DIR/sdk/js/node_modules && -d $REPO_DIR/sdk/js/generated ]] ||
        { echo "FAIL: cannot run: the JavaScript SDK is not set up; run sdk/js/setup.sh"; exit 1; }
    if ip link show "$BEACON_IF" >/dev/null 2>&1; then
        # Harmless (processes run in their own namespaces), but it would make check 1 moot.
        echo "FAIL: cannot run: the host already has a link named $BEACON_IF"
        exit 1
    fi

    trap cleanup EXIT
    trap 'fail "interrupted"' INT
    trap 'fail "terminated (or over the ${BUDGET_S} s budget)"' TERM
    start_watchdog
    TMP_DIR=$(mktemp -d "$TMP_PARENT/$RUN.XXXXXX") || fail "mktemp failed"
    remove_stale_runs
    build_go_driver

    say "listening for beacons in the host's namespace (UDP $BEACON_PORT)"
    start_listener host
    build_topology
    start_listener "$NS_SWITCH"
    say "namespaces ${RUN}-{sw,$(IFS=,; echo "${HOSTS[*]}")} on $SUBNET.0/24, bridge in $NS_SWITCH"
    [[ $CURVE == 1 ]] && setup_curve

    start edge "${HOST_NS[edge]}" "$BUILD_DIR/adashta" edge \
        --http "127.0.0.1:$HTTP_PORT" --mesh "${HOST_IP[edge]}:7700" --data "$TMP_DIR/edge-data" \
        --beacon "$BEACON_IF" --beacon-port "$BEACON_PORT" --heartbeat-ms 200 --peer-timeout-ms 1000 \
        "${EDGE_CURVE[@]}"
    local node
    for node in n1 n2; do
        start "$node" "${HOST_NS[$node]}" \
            ADASHTA_BEACON="$BEACON_IF" ADASHTA_BEACON_PORT="$BEACON_PORT" \
            ADASHTA_BIND="tcp://${HOST_IP[$node]}:7701" \
            ADASHTA_HEARTBEAT_MS=200 ADASHTA_PEER_TIMEOUT_MS=1000 ${NODE_CURVE[$node]:-} \
            "$BUILD_DIR/adashta-test-node" --name "$node" --queue work
    done
    # js binds loopback (moved to its interface address by the beacon), go the wildcard.
    local -A driver_bind=([js]="tcp://127.0.0.1:7701" [go]="tcp://*:7701")
    local program
    for node in "${DRIVERS[@]}"; do
        case $node in
            js) program=(node "$REPO_DIR/sdk/js/test/driver.mjs") ;;
            go) program=("$GO_DRIVER") ;;
        esac
        # shellcheck disable=SC2086  # NODE_CURVE is a word list, as for n1 and n2
        start_driver "$node" \
            ADASHTA_BEACON="$BEACON_IF" ADASHTA_BEACON_PORT="$BEACON_PORT" \
            ADASHTA_BIND="${driver_bind[$node]}" ADASHTA_NAME="$node" \
            ADASHTA_HEARTBEAT_MS=200 ADASHTA_PEER_TIMEOUT_MS=1000 ${NODE_CURVE[$node]:-} \
            "${program[@]}"
    done
    sleep 0.1
    check_alive
    check_process_namespaces
    say "edge, n1, n2 (C++), js (Node.js) and go (Go) started, each in its own namespace, no seeds"

    command_drivers
    say "js and go drivers: connected to an edge found by beacon, consuming work"

    wait_until 10 "the edge's /healthz to report nodes=$(( ${#HOSTS[@]} - 1 ))" edge_sees_every_node
    say "edge /healthz: $(health | tr -d '\n')"

    wait_until 10 "\`adashta peers\` (by beacon, from n1's namespace) to list ${HOSTS[*]}" peers_lists_everyone
    say "adashta peers --json (from ${HOST_NS[n1]}, found by beacon):"
    sed 's/^/    /' <<<"$PEERS_OUT"

    # Keep this after the peers check (about 1 s after the edge counted every node): with
    # seeds, a message produced within ~200 ms of the edge first counting a node is acked,
    # then dropped by the node, which does not know the edge yet (mesh.cpp, unknown_sender).
    ip netns exec "${HOST_NS[edge]}" timeout 20 node "$SCRIPT_DIR/exchange.mjs" \
        --url "ws://127.0.0.1:$HTTP_PORT/ws" --queue work --nodes n1,n2,js,go \
        --max-sessions 64 --timeout-ms 15000 \
        >"$TMP_DIR/exchange.log" 2>&1 || fail "message exchange failed: $(tail -n 3 "$TMP_DIR/exchange.log")"
    say "$(tail -n 1 "$TMP_DIR/exchange.log")"
    [[ $CURVE == 1 ]] && forge_beacons
    check_alive

    # Stop the beaconing processes while both listeners still listen, then judge.
    stop "${HOSTS[@]}"
    check_containment

    say "done"
    echo "beacon discovery: PASS"
}

main "$@"
