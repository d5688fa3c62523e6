// adashta edge: runs an edge until SIGINT or SIGTERM, then drains it (--drain-timeout-s).
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "adashta/log.hpp"
#include "adashta/store/queue_settings.hpp"
#include "adashta/text.hpp"
#include "args.hpp"
#include "commands.hpp"
#include "config_file.hpp"
#include "edge.hpp"
#include "edge_settings.hpp"
#include "port_check.hpp"

namespace adashta::cli {
namespace {

constexpr std::string_view kHelp = R"(Usage: adashta edge [APP_DIR] [OPTIONS]

Runs an edge: browsers load /adashta.js and connect to the WebSocket /ws; server nodes
join its mesh. APP_DIR, when given, is served at / (index.html for folders); without it
the edge serves a short page that says how to use it.

Every flag can also come from a variable, ADASHTA_ and the flag in upper snake case
(ADASHTA_MAX_OUTBOX; --name and --advertise: ADASHTA_EDGE_NAME, ADASHTA_EDGE_ADVERTISE), or
from the --config file (ADASHTA_CONFIG). A flag wins over a variable, a variable over the file.

Options:
  --http HOST:PORT        browsers connect here (default 0.0.0.0:8080)
  --mesh HOST:PORT        the mesh listens here; nodes use tcp://HOST:PORT as their seed
                          (default 127.0.0.1:7700)
  --advertise ENDPOINT    the endpoint other members should dial, when not tcp://--mesh
  --data DIR              durable state lives here (store.db); created if missing
                          (default adashta-data)
  --config FILE           settings file (JSON): every flag as a key ("maxOutbox"), and the
                          settings of each queue (retention, visibility, ...); check it with
                          `adashta config check FILE` (docs/operations.md); its "plugins"
                          are the plugins the edge runs (docs/plugins.md)
  --plugins-dir DIR       where installed plugins are (default DATA/plugins); SIGHUP or
                          `adashta plugin reload` loads the config's plugins again
  --durable               fsync every commit: acked messages survive power loss, not only
                          a crash of the edge (slower)
  --max-store-bytes BYTES store.db grows to at most this; past it new messages get
                          storage_full until expiry frees room (default 0: no cap)
  --seeds LIST            comma-separated endpoints of other edges or nodes to join
                          (default: $ADASHTA_SEEDS, else none)
  --beacon IFACE          find peers by UDP beacon on this network interface (default off);
                          the mesh then listens on IFACE's address instead of 127.0.0.1, or
                          on every address with --mesh 0.0.0.0:PORT (local nodes keep working)
  --beacon-port PORT      UDP port of the beacon (default 5670)
  --name NAME             label shown by `adashta peers` (default edge)
  --heartbeat-ms MS       heartbeat interval to peers (default 1000)
  --peer-timeout-ms MS    silence after which a peer is gone (default 3000)
  --mesh-queue N          messages queued for one peer; when it is full, browsers that send
                          to at-most-once queues wait (are read no further) (default 100000)
  --max-frame BYTES       largest browser frame accepted (default 1048576)
  --max-outbox BYTES      bytes queued for one slow client before it is dropped (default 8388608)
  --max-subscriptions N   queues one connection may consume at once (default 1000)
  --max-connections N     browser sockets (WebSocket and HTTP) open at once; past it new ones
                          get 503 (default 0: as many as the descriptor limit, ulimit -n, allows
                          after a reserve for the mesh and the store; a larger N than fits is
                          lowered, with a warning)
  --max-connections-per-ip N
                          browser sockets from one address at once (default 0: no cap; behind
                          a proxy every client has its address)
  --max-producing-bytes B produces of one connection waiting for the store before it is
                          read no further (default 1048576; docs/operations.md, "Memory")
  --max-producing-total B the same for every connection together (default 33554432)
  --max-page-bytes BYTES  one page of a fetch or of a resume's replay (default 1048576)
  --max-reading-total B   pages of every connection being read or written (default 67108864)
  --max-outbox-total B    every connection's outbox together; past it, clients with more
                          than a quarter of --max-outbox queued are dropped (default 536870912)
  --hello-timeout-s S     a connection must say hello within S seconds (default 10)
  --session-ttl-s S       an offline session is remembered for S seconds (default 300)
  --drain-timeout-s S     on SIGTERM or SIGINT, finish the work in flight and close clients
                          with 1001 (reconnect) for at most S seconds, then exit 0; a second
                          signal exits at once (default 8)

The mesh (docs/security.md):
  --mesh-key FILE         this edge's CURVE key: the FILE_secret `adashta keys new` wrote
                          (default: $ADASHTA_MESH_KEY; or the Z85 secret in $ADASHTA_MESH_SECRET)
  --mesh-allow FILE       the members' public keys and the roles each may take, one a line:
                          KEY edge|node|tool[,...] [tcp://HOST:PORT] [# name]
                          (default: $ADASHTA_MESH_ALLOW)
  --require-curve         refuse to start when the mesh listens beyond loopback without a key

Browsers (docs/security.md):
  --auth MODE             required: every connection presents a token in hello;
                          optional: a token is checked when given, anonymous sessions get the
                          config's auth.anonymous grants; off: no tokens, every client may do
                          everything (local development; logged as a warning when --http is
                          not loopback). Default: required with a token key, off without
  --token-secret SECRET   HS256 key that signs tokens, at least 32 bytes
                          (default: $ADASHTA_TOKEN_SECRET)
  --token-secret-file F   the same, read from a file
  --token-public-key F    PEM public key of RS256 or ES256 tokens (the signer keeps the
                          private one); `adashta token` mints tokens for tests
  --allowed-origins LIST  comma-separated origins whose pages may connect (http://app.example);
                          * for any. Default: the edge's own origin. Clients that send no
                          Origin (servers, the CLI) are not affected

HTTPS (docs/operations.md):
  --tls-cert FILE         serve HTTPS and WSS with this PEM certificate (intermediates after
                          it); needs --tls-key. Checked at start; a restart loads a new one
  --tls-key FILE          the certificate's unencrypted PEM private key

Logs (docs/operations.md):
  --log-format FORMAT     text, or json: one JSON object a line with ts, level, component
                          and msg (default: $ADASHTA_LOG_FORMAT, else text)
  --log-level LEVEL       the lowest level written: debug, info, warn or error
                          (default: $ADASHTA_LOG_LEVEL, else info)

The admin page (docs/operations.md):
  --admin-token TOKEN     opens /admin, the live view of members, queues, sessions and the
                          store, to whoever presents TOKEN (16 characters or more)
                          (default: $ADASHTA_ADMIN_TOKEN). Without a token /admin is off
  --admin-token-file F    the same, read from a file (other users cannot see it in ps)
  --help                  this text

Conformance tests only (tests/autobahn/):
  --test-echo-path PATH   also serve a WebSocket on PATH that echoes every text and binary
                          message, with /ws's framing checks and --max-frame (default off)

Example:
  adashta edge examples/chat/web --http 127.0.0.1:8080
)";

// One flag a line. Each is also a config-file key and an environment variable, by the rule
// in args.hpp (--max-outbox: "maxOutbox", ADASHTA_MAX_OUTBOX) unless its row names others;
// docs/operations.md has the table.
// clang-format off
constexpr Flag kFlags[] = {
    {"http", true},
    {"mesh", true},
    // A node's endpoint and name in the SDKs' ADASHTA_ADVERTISE / ADASHTA_NAME: an edge
    // started in the same environment must not take them as its own.
    {"advertise", true, false, {}, "ADASHTA_EDGE_ADVERTISE"},
    {"data", true},
    {"seeds", true, true},
    {"beacon", true},
    {"beacon-port", true},
    {"name", true, false, {}, "ADASHTA_EDGE_NAME"},
    {"heartbeat-ms", true},
    {"peer-timeout-ms", true},
    {"mesh-queue", true},
    {"max-frame", true},
    {"max-outbox", true},
    {"max-subscriptions", true},
    {"max-connections", true},
    {"max-connections-per-ip", true},
    {"max-producing-bytes", true},
    {"max-producing-total", true},
    {"max-page-bytes", true},
    {"max-reading-total", true},
    {"max-outbox-total", true},
    {"hello-timeout-s", true},
    {"session-ttl-s", true},
    {"drain-timeout-s", true},
    {"config", true, false, "-"},  // a file does not name itself; ADASHTA_CONFIG does
    {"plugins-dir", true},
    {"durable", false},
    {"max-store-bytes", true},
    {"mesh-key", true},
    {"mesh-allow", true},
    {"require-curve", false},
    {"auth", true, false, "-"},  // in the file: "auth": {"mode": ...} (the edge reads it)
    {"token-secret", true},
    {"token-secret-file", true},
    {"token-public-key", true},
    {"allowed-origins", true, true},
    {"tls-cert", true},
    {"tls-key", true},
    {"log-format", true},
    {"log-level", true},
    {"admin-token", true},
    {"admin-token-file", true},
    {"test-echo-path", true},
    {"help", false, false, "-", "-"},
};
// clang-format on

}  // namespace

std::span<const Flag> edge_flags() {
    return kFlags;
}

std::vector<std::string> add_edge_sources(Args& args) {
    auto problems = add_environment(args);
    for (auto& p : add_config_file(args, args.value("config"))) problems.push_back(std::move(p));
    return problems;
}

Result<edge::EdgeOptions> edge_options(const Args& args) {
    edge::EdgeOptions o;
    if (args.positional.size() > 1)
        return make_error(Errc::bad_option,
                          "adashta edge takes one APP_DIR, got " +
                              std::to_string(args.positional.size()) + " (\"" +
                              args.positional[1] +
                              "\" is the second); flags start with --; see adashta edge --help");
    if (!args.positional.empty()) o.app_dir = args.positional[0];
    o.http = args.value("http", o.http);
    o.mesh = args.value("mesh", o.mesh);
    o.advertise = args.value("advertise");
    o.data_dir = args.value("data", o.data_dir);
    o.config = args.value("config");
    o.plugins_dir = args.value("plugins-dir");
    o.durable = args.has("durable");
    o.seeds = split_list(args.value("seeds"));
    o.beacon_interface = args.value("beacon");
    o.name = args.value("name", o.name);
    auto env = [](const char* name) {
        const char* v = std::getenv(name);
        return std::string{v ? v : ""};
    };
    o.mesh_key = args.value("mesh-key");
    // The Z85 secret itself: only a variable, never a flag (ps shows flags) nor a file key.
    o.mesh_secret = env("ADASHTA_MESH_SECRET");
    o.mesh_allow = args.value("mesh-allow");
    o.require_curve = args.has("require-curve");
    o.auth = args.value("auth");
    o.token_secret = args.value("token-secret");
    o.token_secret_file = args.value("token-secret-file");
    o.token_public_key = args.value("token-public-key");
    o.allowed_origins = split_list(args.value("allowed-origins"));
    o.tls_cert = args.value("tls-cert");
    o.tls_key = args.value("tls-key");
    o.admin_token_file = args.value("admin-token-file");
    o.admin_token = args.value("admin-token");  // or ADASHTA_ADMIN_TOKEN (the flag table)
    o.test_echo_path = args.value("test-echo-path");
    if (!o.test_echo_path.empty() &&
        (o.test_echo_path[0] != '/' || o.test_echo_path.size() > 63 ||
         o.test_echo_path == "/ws" || o.test_echo_path == "/admin/ws"))
        return make_error(Errc::bad_option,
                          args.origin("test-echo-path") + " wants a path such as /echo (at most "
                          "63 characters, not /ws or /admin/ws), got \"" + o.test_echo_path + "\"");
    auto port = args.number("beacon-port", o.beacon_port, 1, 65535);
    auto heartbeat = args.number("heartbeat-ms", o.heartbeat.count(), 10, 60'000);
    auto timeout = args.number("peer-timeout-ms", o.peer_timeout.count(), 30, 600'000);
    auto mesh_queue = args.number("mesh-queue", o.mesh_queue, 10, 10'000'000);
    auto max_frame =
        args.number("max-frame", static_cast<std::int64_t>(o.max_frame), 1024, 64 << 20);
    auto max_outbox =
        args.number("max-outbox", static_cast<std::int64_t>(o.max_outbox), 64 << 10, 1LL << 32);
    auto subscriptions = args.number("max-subscriptions",
                                     static_cast<std::int64_t>(o.max_subscriptions), 1, 1'000'000);
    auto connections = args.number("max-connections", 0, 0, 10'000'000);
    auto per_ip = args.number("max-connections-per-ip", 0, 0, 10'000'000);
    const auto bytes = [&](const char* name, std::size_t value, std::int64_t min) {
        return args.number(name, static_cast<std::int64_t>(value), min, 1LL << 40);
    };
    auto producing = bytes("max-producing-bytes", o.max_producing_bytes, 64 << 10);
    auto producing_total = bytes("max-producing-total", o.max_producing_total, 1 << 20);
    auto page = bytes("max-page-bytes", o.max_page_bytes, 16 << 10);
    auto reading_total = bytes("max-reading-total", o.max_reading_total, 1 << 20);
    auto outbox_total = bytes("max-outbox-total", o.max_outbox_total, 1 << 20);
    auto hello = args.number("hello-timeout-s", o.hello_timeout.count(), 1, 3600);
    auto ttl = args.number("session-ttl-s", o.session_ttl.count(), 1, 30 * 86400);
    auto drain = args.number("drain-timeout-s", o.drain_timeout.count(), 1, 3600);
    auto store_cap = args.number("max-store-bytes", 0, 0, 1LL << 50);
    for (const auto* r : {&port, &heartbeat, &timeout, &mesh_queue, &max_frame, &max_outbox,
                          &hello, &ttl, &drain, &store_cap, &subscriptions, &connections,
                          &per_ip, &producing, &producing_total, &page, &reading_total,
                          &outbox_total})
        if (!*r) return r->error();
    if (*timeout <= *heartbeat)
        return make_error(Errc::bad_option,
                          args.origin("peer-timeout-ms") + ": " + std::to_string(*timeout) +
                              " is not longer than " + args.origin("heartbeat-ms") + " (" +
                              std::to_string(*heartbeat) +
                              "); allowed: more than the heartbeat, e.g. three heartbeats");
    o.beacon_port = static_cast<std::uint16_t>(*port);
    o.heartbeat = std::chrono::milliseconds{*heartbeat};
    o.peer_timeout = std::chrono::milliseconds{*timeout};
    o.mesh_queue = static_cast<int>(*mesh_queue);
    o.max_frame = static_cast<std::size_t>(*max_frame);
    o.max_outbox = static_cast<std::size_t>(*max_outbox);
    o.max_subscriptions = static_cast<std::size_t>(*subscriptions);
    o.max_connections = static_cast<std::size_t>(*connections);
    o.max_connections_per_ip = static_cast<std::size_t>(*per_ip);
    o.max_producing_bytes = static_cast<std::size_t>(*producing);
    o.max_producing_total = static_cast<std::size_t>(*producing_total);
    o.max_page_bytes = static_cast<std::size_t>(*page);
    o.max_reading_total = static_cast<std::size_t>(*reading_total);
    o.max_outbox_total = static_cast<std::size_t>(*outbox_total);
    o.hello_timeout = std::chrono::seconds{*hello};
    o.session_ttl = std::chrono::seconds{*ttl};
    o.drain_timeout = std::chrono::seconds{*drain};
    o.max_store_bytes = static_cast<std::uint64_t>(*store_cap);
    return o;
}

namespace {

// --log-format and --log-level (or their variable or file key), before the edge logs
// anything; without them the logger keeps what it read from the environment itself.
Status configure_logging(const Args& args) {
    if (args.has("log-format")) {
        auto format = log::parse_format(args.value("log-format"));
        if (!format)
            return make_error(Errc::bad_option, args.origin("log-format") +
                                                    " wants text or json, got \"" +
                                                    args.value("log-format") + "\"");
        log::set_format(*format);
    }
    if (args.has("log-level")) {
        auto level = log::parse_level(args.value("log-level"));
        if (!level)
            return make_error(Errc::bad_option,
                              args.origin("log-level") +
                                  " wants debug, info, warn or error, got \"" +
                                  args.value("log-level") + "\"");
        log::set_level(*level);
    }
    return {};
}

}  // namespace

int cmd_edge(int argc, char** argv) {
    auto args = parse_args(argc, argv, kFlags, "edge");
    if (!args) return fail(args.error());
    if (args->has("help")) {
        std::cout << kHelp;
        return 0;
    }
    if (auto problems = add_edge_sources(*args); !problems.empty()) {
        for (const auto& p : problems) std::cerr << "adashta: bad_option: " << p << "\n";
        return 2;
    }
    if (auto logging = configure_logging(*args); !logging) return fail(logging.error());
    auto options = edge_options(*args);
    if (!options) return fail(options.error());
    // The edge reads the queues again when it opens the store; checked here, a mistake
    // stops it before it listens or creates the data folder.
    if (!options->config.empty())
        if (auto queues = store::load_queue_settings(options->config); !queues)
            return fail(queues.error());
    // Before libwebsockets and ZeroMQ try: their own words for a taken port are log lines
    // that name neither the flag nor what to do.
    if (auto free = check_port_free(*args, "http", options->http); !free) return fail(free.error());
    if (options->beacon_interface.empty())
        if (auto free = check_port_free(*args, "mesh", options->mesh); !free)
            return fail(free.error());

    // Signals are taken by one thread that asks the edge to stop; every other thread
    // (libwebsockets, the mesh, ZeroMQ's) starts with them blocked.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    edge::Edge edge{std::move(*options)};
    if (auto started = edge.start(); !started) {
        Error error = started.error();
        if (error.code == Errc::bind_failed)
            error.detail += "; pick a free port or stop the process that holds it";
        return fail(error);
    }
    std::atomic<bool> finished{false};  // run() returned: the waiter's next wake-up is ours
    std::thread waiter{[&] {
        int signal = 0;
        // SIGHUP reloads the plugins (`adashta plugin reload` sends it); the others stop.
        const auto next_stop = [&] {
            while (true) {
                sigwait(&signals, &signal);
                if (finished || signal != SIGHUP) return;
                log::info("edge", "SIGHUP: loading the plugins again");
                (void)edge.reload_plugins();  // it logs the outcome
            }
        };
        next_stop();
        if (finished) return;
        log::info("edge", "stopping (signal " + std::to_string(signal) +
                              "); a second signal exits at once");
        edge.request_stop();
        next_stop();
        if (finished) return;
        // Nothing acknowledged is lost: every ack followed a commit, and SQLite's write-ahead
        // log keeps what was committed. Unanswered produces come again from their clients.
        log::warn("edge", "second signal (" + std::to_string(signal) +
                              "): exiting now, without finishing the drain");
        std::_Exit(128 + signal);
    }};
    log::info("edge", "ready");
    edge.run();
    finished = true;
    // Wake the waiter, in whichever sigwait it is, so it can be joined.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    return 0;
}

}  // namespace adashta::cli
