// adashta::edge::Edge — the front door for browsers and a member of the mesh. It serves
// /adashta.js, the WebSocket endpoint /ws, /healthz, /metrics, the admin page /admin and an
// app folder over HTTP,
// and routes between browser sessions and server nodes.
//
//   Edge edge{{.http = "127.0.0.1:8080", .app_dir = "examples/chat/web"}};
//   if (auto ok = edge.start(); !ok) die(ok.error());
//   edge.run();   // until request_stop(), e.g. from a SIGTERM handler
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::edge {

struct EdgeOptions {
    std::string http = "0.0.0.0:8080";      // HOST:PORT for browsers
    std::string mesh = "127.0.0.1:7700";    // HOST:PORT of the mesh ROUTER
    std::string advertise;                  // mesh endpoint peers dial, when not `mesh`
    std::string data_dir = "adashta-data";  // where durable state lives (store.db)
    std::string config;                     // queue settings file (JSON); empty = defaults
    std::string plugins_dir;                // installed plugins; empty = DATA/plugins
    bool durable = false;                   // fsync every commit (power-loss safe, slower)
    std::uint64_t max_store_bytes = 0;      // store.db's cap (0: the disk's size); storage_full past it
    std::string app_dir;                    // static files at "/"; empty = built-in page
    std::vector<std::string> seeds;         // other edges or nodes to join
    std::string beacon_interface;           // UDP beacon discovery here; empty = off
    std::uint16_t beacon_port = 5670;
    std::string name = "edge";  // label in `adashta peers`
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds peer_timeout{3000};
    int mesh_queue = 100000;                 // messages queued for one peer (ZeroMQ HWM)
    std::size_t max_frame = 1 << 20;         // largest browser frame accepted, bytes
    std::size_t max_outbox = 8 << 20;        // bytes queued for one client before it is dropped
    std::size_t max_subscriptions = 1000;    // queues one connection may consume at once
    std::size_t max_connections = 0;         // browser sockets at once; 0: as the fd limit allows
    std::size_t max_connections_per_ip = 0;  // browser sockets from one address; 0: no cap
    // Memory bounded by bytes (docs/operations.md, "Memory"): produces read from one
    // connection and from all of them that wait for the store, before reading pauses;
    // one page of a fetch or replay; the pages of all connections being read or written;
    // and the outboxes of all connections together.
    std::size_t max_producing_bytes = 1 << 20;
    std::size_t max_producing_total = 32 << 20;
    std::size_t max_page_bytes = 1 << 20;
    std::size_t max_reading_total = 64 << 20;
    std::size_t max_outbox_total = 512 << 20;
    std::chrono::seconds hello_timeout{10};  // a connection must say hello by then
    std::chrono::seconds session_ttl{300};   // how long an offline session is remembered
    // request_stop() to the end of run(), about; below the 10 s docker stop waits by default
    std::chrono::seconds drain_timeout{8};
    // The mesh (docs/security.md): this edge's CURVE key (file, or the Z85 secret itself),
    // the allow-list of members' keys, and whether to refuse to listen beyond loopback
    // without them.
    std::string mesh_key;     // --mesh-key, ADASHTA_MESH_KEY
    std::string mesh_secret;  // ADASHTA_MESH_SECRET
    std::string mesh_allow;   // --mesh-allow, ADASHTA_MESH_ALLOW
    bool require_curve = false;
    // Browsers (docs/security.md): the authentication mode ("", off, optional, required;
    // "" = required with a key, off without), the key that checks tokens (one of the three),
    // and the origins whose pages may connect (empty: the edge's own origin only).
    std::string auth;
    std::string token_secret;       // HS256 secret (ADASHTA_TOKEN_SECRET)
    std::string token_secret_file;  // a file holding it
    std::string token_public_key;   // PEM file: RS256 or ES256 public key
    std::vector<std::string> allowed_origins;
    // HTTPS and WSS (docs/operations.md): PEM files of the certificate (its chain after it)
    // and its unencrypted private key; both empty = plain HTTP. Checked at start.
    std::string tls_cert;  // --tls-cert
    std::string tls_key;   // --tls-key
    // The admin page (/admin, docs/operations.md): its token, or a file holding it. Neither:
    // the page is off.
    std::string admin_token;       // --admin-token, ADASHTA_ADMIN_TOKEN
    std::string admin_token_file;  // --admin-token-file
    // For conformance tests only (tests/autobahn/): a WebSocket path that echoes every
    // message (echo_socket.hpp). Empty: off.
    std::string test_echo_path;  // --test-echo-path
};

class Edge {
public:
    explicit Edge(EdgeOptions options);
    ~Edge();
    Edge(const Edge&) = delete;
    Edge& operator=(const Edge&) = delete;

    // Checks the data and app folders, binds HTTP and mesh. Fails with bind_failed,
    // bad_endpoint, bad_option (unusable folder) or beacon_failed.
    Status start();
    // Serves until request_stop(), then drains (docs/operations.md, "Stopping and
    // restarting"): refuses new connections (503), reads no more client frames, waits for
    // the store to answer the produces it has, sends those answers, closes every client
    // with 1001 (reconnect), lets the mesh and store finish what they were handed, says Bye
    // to the mesh and closes the store. Returns within about drain_timeout of the request;
    // a client that does not finish its close by then is dropped.
    void run();
    // Starts the drain. Thread-safe and safe from a signal handler.
    void request_stop();
    // Loads the config file's plugins again (docs/plugins.md, "Reloading"); connections
    // stay open. On an error the plugins loaded before stay, and it says why. Any thread
    // but a signal handler; one at a time.
    Status reload_plugins();

    // The HTTP address it listens on, e.g. "127.0.0.1:8080".
    std::string http_address() const;
    std::string mesh_endpoint() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace adashta::edge
