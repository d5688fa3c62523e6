// What the admin page (/admin) shows, gathered once a second from the threads that own it:
// the HTTP thread fills the sessions and the store's size, the mesh thread the members, the
// store thread the queues. The snapshot travels from one to the next (HttpServer::sweep ->
// Router::admin_snapshot -> a store read -> back to the HTTP thread as a ClientBound), so
// each part is written by its owner only and read by the next thread after the hand-off.
// AdminRates, on the HTTP thread, turns the counters of two snapshots into rates.
//
//   auto s = std::make_shared<AdminSnapshot>();   // HTTP thread: sessions, store size
//   router.admin_snapshot(s);                     // mesh + store threads, then back
//   std::string frame = encode_admin_snapshot(*s, rates.update(*s));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace adashta::edge {

// One member of the mesh as this edge sees it.
struct AdminMember {
    std::string id;                   // its node id
    std::string name;                 // its label; may be empty
    std::string role;                 // "node", "edge" or "tool"
    std::string endpoint;             // where its ROUTER listens
    std::vector<std::string> queues;  // what it consumes, sorted
    std::int64_t heard_ms_ago = 0;    // since its last message (heartbeat or other)
    bool ready = false;               // it has shown it knows us: messages are routed to it
};

enum class AdminQueueKind {
    stream,        // what browsers and nodes produce, stored
    work,          // an RSMQ-style work queue
    at_most_once,  // configured "durable": false: passed on, never stored
};
std::string_view admin_queue_kind_name(AdminQueueKind kind);  // "stream", "work", "at-most-once"

struct AdminQueue {
    std::string name;
    AdminQueueKind kind = AdminQueueKind::stream;
    std::int64_t depth = 0;          // stream: messages kept; work: messages in the queue
    std::int64_t pending = 0;        // stream: client messages not acked; work: hidden ones;
                                     // at-most-once: messages waiting for room at a node
    std::int64_t dead_lettered = 0;  // stream: since the edge started; work: since creation
    std::uint64_t in_total = 0;      // counters the rates come from: messages stored/sent,
    std::uint64_t out_total = 0;     // and handed on/received
};

// One open browser connection (a session online).
struct AdminClient {
    std::string session;
    std::string user;                 // its token's sub; empty when anonymous
    std::vector<std::string> queues;  // what it consumes
    std::int64_t connected_s = 0;     // how long it has been connected
    std::size_t outbox_bytes = 0;     // queued for it, not written yet
};

// A loaded plugin. None are loaded until plugins exist; the page already lists them.
struct AdminPlugin {
    std::string name;
    std::string version;
    std::string runtime;  // "lua" or "js"
};

// Messages handed on per queue, counted by the thread that hands them on.
using QueueCounts = std::unordered_map<std::string, std::uint64_t>;
// At most this many queues are counted (a bound on the memory names can take) and listed.
inline constexpr std::size_t kAdminMaxQueues = 1000;
// At most this many connections are listed (the counts cover all of them).
inline constexpr std::size_t kAdminMaxClients = 200;

struct AdminSnapshot {
    // HTTP thread, when it starts the snapshot.
    std::int64_t at_ms = 0;        // wall clock
    std::int64_t started_ms = 0;   // when the edge started (wall clock)
    std::string edge_name;         // --name
    std::string http;              // --http
    std::size_t sessions = 0;      // known, online or not
    std::size_t connections = 0;   // open browser connections
    std::size_t max_connections = 0;        // --max-connections as served
    std::uint64_t connections_refused = 0;  // 503s at either cap since the start
    std::vector<AdminClient> clients;
    std::int64_t store_bytes = 0;  // store.db with its -wal and -shm, on disk
    QueueCounts out_to_browsers;   // a copy of the HTTP thread's counts
    std::vector<AdminPlugin> plugins;  // empty until plugins exist
    // Mesh thread.
    std::string mesh_endpoint;
    std::vector<AdminMember> members;
    QueueCounts out_to_nodes;  // a copy of the mesh thread's counts
    // Mesh thread (at-most-once queues), then the store thread (the others, put in front).
    std::vector<AdminQueue> queues;  // streams, work queues, at-most-once queues, each by name
    std::string store_error;         // why the queues could not be read; empty if they were
};

// Adds one to queue's count, unless kAdminMaxQueues other queues are counted already.
void count_queue(QueueCounts& counts, const std::string& queue);

// Rates per queue from the counters of consecutive snapshots. HTTP thread only.
class AdminRates {
public:
    struct Rate {
        double in = 0;   // messages per second
        double out = 0;
    };
    // The rates since the previous snapshot, by admin_queue_key; a queue seen for the first
    // time has none yet (0).
    std::unordered_map<std::string, Rate> update(const AdminSnapshot& snapshot);

private:
    struct Sample {
        std::int64_t at_ms = 0;
        std::uint64_t in = 0;
        std::uint64_t out = 0;
    };
    std::unordered_map<std::string, Sample> last_;  // by the same key
};

// The {"type":"snapshot",...} frame the admin page reads (docs/protocol.md, "Admin").
std::string encode_admin_snapshot(const AdminSnapshot& snapshot,
                                  const std::unordered_map<std::string, AdminRates::Rate>& rates,
                                  std::string_view version);

// The key AdminRates uses for a queue.
std::string admin_queue_key(const AdminQueue& queue);

}  // namespace adashta::edge
