// adashta::Node — embed a mesh node in a server application. It joins the mesh (seeds or
// UDP beacon), consumes queues that browser clients produce to, and produces to one client
// or to every client consuming a queue. Message data is JSON text.
//
//   adashta::Node node;                                    // options from ADASHTA_* env
//   node.consume("echo", [&](const adashta::Message& m) {
//       (void)node.produce("echo", m.data, {.to = m.client});  // reply to the sender
//   });
//   if (auto ok = node.start(); !ok) { std::cerr << ok.error().to_string() << "\n"; return 1; }
//   adashta::wait_for_signal();
//
// Threads: handlers run on the node's handler thread, one at a time, in arrival order. A
// slow handler delays the messages behind it (and their acks: past the queue's visibility
// timeout they are delivered again), never the node's membership. Handlers may call
// everything here, blocking calls (fetch, cancel, WorkQueues) and stop() included. Every
// public member is thread-safe.
//
// Acknowledgement: a message is acked when its handler returns. A handler that throws
// (anything, std::exception or not) leaves it unacked: the node logs the queue, the message
// id and what was thrown, tells on_error, and goes on with the next message; the edge
// delivers the message again after the queue's visibility timeout (receive_count 2, 3, ...).
// To ack later, from another thread or after an async call, the handler takes the message
// with defer() and acks (or releases) the Delivery when the work is done:
//
//   node.consume("jobs", [&](const adashta::Message& m) {
//       std::thread{[d = node.defer(m), m]() mutable { work(m) ? d.ack() : d.release(); }}
//           .detach();
//   });
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/result.hpp"

namespace adashta {

struct NodeOptions {
    std::vector<std::string> seeds{};        // edges or nodes to join; default
                                             // tcp://127.0.0.1:7700
    std::string bind = "tcp://127.0.0.1:*";  // this node's ROUTER (* = any free port)
    std::string advertise{};                 // endpoint peers dial, when bind is not it
    std::string beacon_interface{};          // discover peers by UDP beacon here; empty = off
    std::uint16_t beacon_port = 5670;
    std::string name{};  // label shown by `adashta peers`
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds peer_timeout{3000};
    bool tool = false;  // a short-lived tool (the CLI): peers list it
                        // as "tool", edges never count it as a node
    // CURVE (docs/security.md): this node's key — the FILE_secret of `adashta keys new`, or
    // the Z85 secret key itself — and the allow-list of members' keys. Both, or neither.
    std::string mesh_key{};     // ADASHTA_MESH_KEY
    std::string mesh_secret{};  // ADASHTA_MESH_SECRET
    std::string mesh_allow{};   // ADASHTA_MESH_ALLOW

    // Defaults overridden by ADASHTA_SEEDS (comma-separated), ADASHTA_BIND, ADASHTA_ADVERTISE,
    // ADASHTA_BEACON (interface), ADASHTA_BEACON_PORT, ADASHTA_NAME, ADASHTA_HEARTBEAT_MS,
    // ADASHTA_PEER_TIMEOUT_MS, ADASHTA_MESH_KEY, ADASHTA_MESH_SECRET, ADASHTA_MESH_ALLOW. A malformed number is reported by start() as bad_option.
    static NodeOptions from_env();
    std::string env_error{};  // set by from_env when a variable was bad
};

// A message a browser client produced to a queue this node consumes.
struct Message {
    std::string id{};  // unique message id, for dropping duplicates
    std::string queue{};
    std::string client{};             // the sender's client (session) id: reply to it
    std::string user{};               // the sender's user (its token's sub); empty when
                                      // anonymous, or not known to an edge restarted since
    std::string data{};               // JSON text
    std::int64_t created_ms = 0;      // when the edge accepted it, ms since the epoch
    std::int64_t offset = 0;          // its place in the queue's stream at the edge; 0 on an
                                      // at-most-once queue (not stored, not acked, never again)
    std::uint32_t receive_count = 1;  // above 1: a redelivery (no ack came in time), same id
};

// A browser client connected to or disconnected from an edge.
struct ClientEvent {
    std::string client{};  // client (session) id
    std::string user{};    // the client's user (its token's sub); empty when anonymous
    bool resumed = false;  // connection: the session existed before (a reconnect)
};

// A handler that threw, as Node::on_error sees it. The node has logged it already.
struct HandlerError {
    enum class Source { message, connection, disconnection };
    Source source = Source::message;  // which handler threw
    std::string queue{};              // message: its queue
    std::string message_id{};         // message: its id (it stays unacked, comes again)
    std::uint32_t receive_count = 0;  // message: which delivery of it this was
    std::string client{};             // the sender, or the client that (dis)connected
    std::string what{};               // e.what() of a std::exception, else a note that the
                                      // exception was not one
    std::exception_ptr exception{};   // what was thrown, to rethrow and inspect
};

// A message a handler took with Node::defer, to acknowledge later. Movable, not copyable;
// one handle is used by one thread at a time, but any thread, during or after the handler.
//
//   adashta::Delivery d = node.defer(m);   // in the handler
//   ... later, anywhere:  d.ack();         // or d.release(): it comes again after the vt
//
// A handle destroyed while still pending releases its message. ack and release do nothing
// on an empty handle (default-constructed, moved from, settled already, or for a message of
// an at-most-once queue, which has nothing to ack), nor once the node stopped (the message
// then comes again after the vt, like every message unacked when a node stops).
class Delivery {
public:
    Delivery() = default;
    Delivery(Delivery&&) noexcept = default;
    Delivery& operator=(Delivery&&) noexcept = default;  // releases what this held first
    Delivery(const Delivery&) = delete;
    Delivery& operator=(const Delivery&) = delete;
    ~Delivery() = default;  // releases a pending message (it comes again after the vt)

    // Acknowledges the message: the edge forgets it. Returns at once (the ack goes out on the
    // node's mesh thread). Ack within the queue's visibility timeout: after it the edge may
    // have delivered the message again (same id, higher receive_count), maybe to another node.
    void ack();
    // Gives it up unacknowledged: the edge delivers it again after the visibility timeout.
    void release();
    // True until ack or release, for a message that has an ack to send.
    bool pending() const { return target_ != nullptr; }

private:
    friend class Node;
    struct Target;                    // the message and the node's ack channel (node.cpp)
    std::shared_ptr<Target> target_;  // null: nothing to settle
};

struct ProduceOptions {
    std::string to{};                    // client id; empty = every client consuming the queue
    std::string to_user{};               // or: every session of this user (token sub), live
                                         // ones now, offline ones when they resume
    std::chrono::milliseconds delay{0};  // hold it at the edge this long
    std::int64_t deliver_at_ms = 0;      // or until then (ms since the epoch); not both
    // Wait until the edge has stored it (the edge's answer), and fail with the edge's error
    // (storage_full, ...) if it could not. Without it produce returns at once and a message
    // the edge refuses is only logged there. Costs one round trip; not on the mesh thread.
    bool confirm = false;
};

// A message kept by the edge's store, as fetch returns it.
struct StoredMessage {
    std::string id{};
    std::int64_t offset = 0;
    std::string client{};  // the sender (client -> server) or the receiver (server -> one client)
    std::string data{};  // JSON text
    std::int64_t created_ms = 0;
};

struct FetchOptions {
    std::int64_t from = 0;      // first offset (0: the oldest kept)
    std::int64_t since_ms = 0;  // or: created at or after (ms since the epoch); not both
    std::size_t limit = 100;    // at most this many (up to 1000)
};

struct FetchResult {
    std::vector<StoredMessage> messages{};  // in offset order
    std::int64_t next = 0;                // fetch from here for what comes after
};

struct PeerSummary {
    std::string id{};
    std::string name{};
    std::string endpoint{};
    std::string role{};  // "node", "edge" or "tool"
    std::vector<std::string> queues{};
};

class Node {
public:
    using MessageHandler = std::function<void(const Message&)>;
    using ClientHandler = std::function<void(const ClientEvent&)>;
    using ErrorHandler = std::function<void(const HandlerError&)>;

    explicit Node(NodeOptions options = NodeOptions::from_env());
    // Stops the node. From any thread but the handler thread: a handler may call stop(), but
    // destroying the Node from inside one of its handlers is a bug, and aborts with a message.
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Consume queue: clients' messages to it are routed here (sticky per client). Replaces
    // an earlier handler for the same queue. Before or after start().
    Status consume(std::string queue, MessageHandler handler);
    void unconsume(const std::string& queue);
    // The original Adashta SDK's two events.
    // A handler that throws is logged and ignored: the node goes on.
    void on_connection(ClientHandler handler);
    void on_disconnection(ClientHandler handler);
    // Called on the handler thread, after the log line, whenever a handler threw (the
    // message, connection or disconnection handler). An exception from the hook itself is
    // logged and dropped. Before or after start().
    void on_error(ErrorHandler handler);

    // From inside the handler of m (on the handler thread, before it returns): takes m for a
    // later ack, so that the handler's return does not ack it. Returns its Delivery, empty
    // for a message of an at-most-once queue (offset 0: nothing to ack) and when m was
    // deferred already. Called anywhere else it logs the misuse and returns an empty handle
    // (and asserts in debug builds): the message was or will be acked by its handler's return.
    Delivery defer(const Message& m);

    // Joins the mesh. Fails with bad_option, bad_endpoint, bind_failed, beacon_failed or
    // bad_key (a mesh key, allow-list or seed key that cannot be used).
    Status start();
    // Leaves the mesh (peers are told at once) and waits for the handler running now, after
    // which no handler starts; messages not handled yet come again (unacked). Idempotent,
    // from any thread. From a handler it returns without waiting for that handler (which is
    // the caller): the node stops taking messages, and its ack is not sent.
    void stop();

    // Sends data (JSON text) on queue to one client (options.to) or to every client
    // consuming queue, now or later (delay, deliver_at_ms). Returns the message id (for
    // cancel). The edge stores it: a client that is offline gets it when it resumes. Fails
    // with not_started, bad_queue, bad_data, bad_timeout or no_edge; with options.confirm
    // also with the edge's error (storage_full, ...) or timed_out.
    Result<std::string> produce(std::string_view queue, std::string_view data,
                                const ProduceOptions& options = {});
    // Drops a scheduled message before its time. unknown_message when it was delivered
    // already (or never existed). Blocks for the edge's answer.
    Status cancel(std::string_view id);
    // Reads what the edge keeps of queue (retention), even after it was consumed.
    Result<FetchResult> fetch(std::string_view queue, const FetchOptions& options = {});

    // A call to the store of an edge: op and a JSON object of arguments, answered with a
    // JSON result (docs/protocol.md section 3 lists the ops). fetch, cancel and WorkQueues
    // are typed wrappers. Fails with no_edge, timed_out, or the edge's error.
    Result<std::string> call(std::string_view op, std::string_view args_json,
                             std::chrono::milliseconds timeout = std::chrono::seconds{10});

    // Waits until at least count edges are peers; false on timeout.
    bool wait_for_edges(std::size_t count, std::chrono::milliseconds timeout);
    // A snapshot of the live peers.
    std::vector<PeerSummary> peers() const;
    std::string id() const;
    std::string endpoint() const;

private:
    // fuzz/fuzz_node.cpp runs a Node whose mesh never starts, feeding it frames.
    friend struct NodeFuzzAccess;
    class Impl;
    std::unique_ptr<Impl> impl_;
};

// Blocks until SIGINT or SIGTERM arrives and returns its number. Safe to call with a node
// running: the signal is caught on whatever thread it lands, and the node keeps working.
int wait_for_signal();

}  // namespace adashta
