// Browser connections and the sessions they carry, owned by the edge's HTTP thread.
// A session outlives its connections: a client that reconnects with its session id gets
// the same id back (and so the same node, since rings are keyed by it).
//
//   Connection& c = sessions.open(wsi);
//   auto bound = sessions.bind(c, "s-...");      // hello
//   sessions.subscribe(c, "chat");               // consume
//   sessions.for_each_subscriber("chat", [](Connection& c) { queue_frame(c, frame); });
//   sessions.close(c);                            // socket gone; the session stays a while
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "access.hpp"
#include "frame_queue.hpp"

namespace adashta::edge {

using Clock = std::chrono::steady_clock;

// A store read a connection waits to make: a fetch, or the next page of a replay. One at a
// time per connection, and only when its outbox has room for a page (HttpServer::pump_reads).
struct PendingRead {
    bool fetch = false;                     // a fetch frame; else a replay page
    std::string queue;
    std::optional<std::uint64_t> ref;       // fetch: its ref
    std::optional<std::int64_t> from;       // first offset
    std::optional<std::int64_t> since_ms;   // fetch: or first creation time
    std::int64_t limit = 0;                 // fetch: most messages
    std::uint64_t replay = 0;               // replay: Replay::id it belongs to
};

// What a connection's plugin hooks hold back (http_plugins.cpp): steps that wait for a
// verdict, in the order they came, each run once it and every step before it are decided,
// so the hooks' threads cannot reorder one connection's messages.
struct HookSteps {
    struct Step {
        bool ready = false;
        std::function<void()> run;  // set with the verdict
    };
    std::deque<Step> steps;   // waiting, oldest first
    std::uint64_t first = 0;  // the ticket of steps.front()
    std::uint64_t add() {     // a new step at the back: its ticket
        steps.emplace_back();
        return first + steps.size() - 1;
    }
};

// A queue being replayed after a resume: live messages wait here, with their offsets.
struct Replay {
    // Which replay of the connection: a page of an earlier one (the queue was unconsumed and
    // consumed again while it was read) is not this one's.
    std::uint64_t id = 0;
    std::vector<std::pair<std::int64_t, std::shared_ptr<std::string>>> held;
    std::size_t held_bytes = 0;  // their payloads
    // Stored ones were let go when held_bytes passed the bound: the store still has them,
    // so the replay reads on once more instead of ending.
    bool dropped = false;
};

struct Connection {
    std::uint64_t serial = 0;      // unique in this process; answers find their connection by it
    void* wsi = nullptr;           // the libwebsockets connection (opaque here)
    std::string session;           // empty until hello
    Admission admission;           // its user and grants, from hello (and refresh)
    std::set<std::string> queues;  // queues it consumes
    // Queues being replayed from the store after a resume: live messages wait here (with
    // their offsets) until the replay caught up, so the client sees one ordered stream.
    std::map<std::string, Replay> replaying;
    std::uint64_t replays = 0;  // replays begun, for Replay::id
    FrameQueue out;             // frames to send (shared by a fan-out); empty costs nothing
    std::size_t out_bytes = 0;  // sum of out's payload sizes
    std::size_t producing = 0;  // its produces the store has not answered yet
    std::size_t producing_bytes = 0;  // and their costs (ClientProduce::cost)
    bool rx_paused = false;     // reading paused until producing drains (back-pressure)
    bool edge_paused = false;   // listed in HttpServer::paused_for_edge_
    std::vector<PendingRead> reads;  // store reads waiting for their turn, oldest first
    bool reading = false;       // a page is being read or written: it holds the page budget
    bool page_queued = false;   // that page is in the outbox, up to page_end
    bool waiting_to_read = false;    // listed in HttpServer::waiting_to_read_
    std::uint64_t queued_total = 0;  // payload bytes ever put in out
    std::uint64_t written_total = 0; // of those, written to the socket
    std::uint64_t page_end = 0;      // queued_total once the page was in out
    int close_code = 0;         // nonzero: closing with this code; nothing more is queued
    Clock::time_point opened;   // for the hello timeout
    // Plugins (http_plugins.cpp). The client as hooks see it (JSON), made at hello; the
    // upgrade request's origin, address and headers for on_connect (JSON); whether
    // on_connect is still deciding (its reading is paused, the frames read meanwhile wait).
    std::string hook_client;
    std::string hook_request;
    bool admitting = false;
    std::vector<std::string> held_frames;
    HookSteps hooked_in;   // produces waiting for on_message
    HookSteps hooked_out;  // deliveries waiting for on_deliver
};

class Sessions {
public:
    struct Bound {
        bool resumed = false;            // the session was known here before
        Connection* replaced = nullptr;  // an older connection that held the session
    };

    Connection& open(void* wsi, Clock::time_point now);
    // The socket is gone: drop the connection; its session is kept until expire().
    void close(Connection& connection, Clock::time_point now);
    Connection* find(std::uint64_t serial);

    // Gives connection the session (hello). A session held by another connection moves to
    // this one; the caller closes the old one.
    Bound bind(Connection& connection, const std::string& session);
    // The live connection of a session, or nullptr when it is offline or unknown.
    Connection* connection_of(const std::string& session);
    // Every live connection whose token names user (admission.user), in no order.
    void for_each_connection_of_user(const std::string& user,
                                     const std::function<void(Connection&)>& fn);

    void subscribe(Connection& connection, const std::string& queue);
    void unsubscribe(Connection& connection, const std::string& queue);
    void for_each_subscriber(const std::string& queue, const std::function<void(Connection&)>& fn);
    // Every open connection (for shutdown and hello timeouts).
    void for_each_connection(const std::function<void(Connection&)>& fn);

    // Forgets sessions offline for longer than ttl; returns their ids.
    std::vector<std::string> expire(Clock::time_point now, Clock::duration ttl);

    std::size_t connection_count() const { return connections_.size(); }
    std::size_t session_count() const { return sessions_.size(); }

private:
    struct SessionRecord {
        Connection* connection = nullptr;  // null while offline
        Clock::time_point offline_since;   // valid while offline
    };

    std::uint64_t next_serial_ = 1;
    std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;    // by serial
    std::unordered_map<std::string, SessionRecord> sessions_;                       // by session id
    std::unordered_map<std::string, std::unordered_set<Connection*>> subscribers_;  // by queue
    std::unordered_map<std::string, std::unordered_set<Connection*>> users_;  // bound, by user
};

}  // namespace adashta::edge
