// adashta::Node — embed a mesh node in a server application. It joins the mesh (seeds or
// UDP beacon), consumes queues that browser clients produce to, and produces to one client
// or to every client consuming a queue. Message data is JSON text.
//
//   adashta::Node node;                                    // options from ADASHTA_* env
//   node.consume("echo", [&](const adashta::Message& m) {
//       node.produce("echo", m.data, {.to = m.client});    // reply to the sender
//   });
//   if (auto ok = node.start(); !ok) { std::cerr << ok.error().to_string() << "\n"; return 1; }
//   adashta::wait_for_signal();
//
// Threads: handlers run on the node's own thread, one at a time, in arrival order; keep
// them short or hand work to your own threads. Every public member is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/result.hpp"

namespace adashta {

struct NodeOptions {
    std::vector<std::string> seeds;          // edges or nodes to join; default tcp://127.0.0.1:7700
    std::string bind = "tcp://127.0.0.1:*";  // this node's ROUTER (* = any free port)
    std::string advertise;                   // endpoint peers dial, when bind is not it
    std::string beacon_interface;            // discover peers by UDP beacon here; empty = off
    std::uint16_t beacon_port = 5670;
    std::string name;  // label shown by `adashta peers`
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds peer_timeout{3000};
    bool tool = false;  // a short-lived tool (the CLI): peers list it
                        // as "tool", edges never count it as a node

    // Defaults overridden by ADASHTA_SEEDS (comma-separated), ADASHTA_BIND, ADASHTA_ADVERTISE,
    // ADASHTA_BEACON (interface), ADASHTA_BEACON_PORT, ADASHTA_NAME, ADASHTA_HEARTBEAT_MS,
    // ADASHTA_PEER_TIMEOUT_MS. A malformed number is reported by start() as bad_option.
    static NodeOptions from_env();
    std::string env_error;  // set by from_env when a variable was bad
};

// A message a browser client produced to a queue this node consumes.
struct Message {
    std::string id;  // unique message id, for dropping duplicates
    std::string queue;
    std::string client;           // the sender's client (session) id: reply to it
    std::string data;             // JSON text
    std::int64_t created_ms = 0;  // when the edge accepted it, ms since the epoch
};

// A browser client connected to or disconnected from an edge.
struct ClientEvent {
    std::string client;    // client (session) id
    bool resumed = false;  // connection: the session existed before (a reconnect)
};

struct ProduceOptions {
    std::string to;  // client id; empty = every client consuming the queue
};

struct PeerSummary {
    std::string id;
    std::string name;
    std::string endpoint;
    std::string role;  // "node", "edge" or "tool"
    std::vector<std::string> queues;
};

class Node {
public:
    using MessageHandler = std::function<void(const Message&)>;
    using ClientHandler = std::function<void(const ClientEvent&)>;

    explicit Node(NodeOptions options = NodeOptions::from_env());
    ~Node();  // stops the node
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Consume queue: clients' messages to it are routed here (sticky per client). Replaces
    // an earlier handler for the same queue. Before or after start().
    Status consume(std::string queue, MessageHandler handler);
    void unconsume(const std::string& queue);
    // The original Adashta SDK's two events.
    void on_connection(ClientHandler handler);
    void on_disconnection(ClientHandler handler);

    // Joins the mesh. Fails with bad_option, bad_endpoint, bind_failed or beacon_failed.
    Status start();
    // Leaves the mesh (peers are told at once). Idempotent.
    void stop();

    // Sends data (JSON text) on queue to one client (options.to) or to every client
    // consuming queue. Fails with not_started, bad_queue, bad_data, or no_edge; delivery to
    // an online client is then as reliable as the connection it is on.
    Status produce(std::string_view queue, std::string_view data,
                   const ProduceOptions& options = {});

    // Waits until at least count edges are peers; false on timeout.
    bool wait_for_edges(std::size_t count, std::chrono::milliseconds timeout);
    // A snapshot of the live peers.
    std::vector<PeerSummary> peers() const;
    std::string id() const;
    std::string endpoint() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

// Blocks until SIGINT or SIGTERM arrives and returns its number. Safe to call with a node
// running: the signal is caught on whatever thread it lands, and the node keeps working.
int wait_for_signal();

}  // namespace adashta
