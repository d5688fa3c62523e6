// The edge's mesh side: routes browser messages to server nodes and server messages back to
// browsers. It runs on the mesh thread; the HTTP thread reaches it only through the
// produce/client_* calls, which post to that thread, and it answers through a ClientSink.
//
// Routing: for each queue, a consistent-hash ring over the live server nodes that consume
// it, keyed by session id, rebuilt only when membership changes. A send that the owner's
// connection refuses (it just died) goes to the next node on the ring.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "adashta/mesh/mesh.hpp"
#include "adashta/mesh/ring.hpp"
#include "adashta/plugins/chain.hpp"
#include "adashta/store/store.hpp"
#include "admin_snapshot.hpp"
#include "fair_feed.hpp"
#include "store_calls.hpp"

namespace adashta::edge {

// What the mesh side hands the HTTP thread.
// A stored message on its way to a browser (fetch answers and replays).
struct StoredFrame {
    std::string id;
    std::int64_t offset = 0;
    std::string data;  // JSON text
    std::int64_t ts = 0;
};

struct ClientBound {
    enum class Kind { ack, error, direct, fanout, user, fetched, replay, admin };
    Kind kind = Kind::ack;
    std::uint64_t connection = 0;       // ack, error, fetched, replay: the connection that asked
    std::optional<std::uint64_t> ref;   // ack, error, fetched: the frame's ref; none = no answer
    // ack, error: the answer to a produce, which held this many bytes of the in-flight
    // budgets (ClientProduce::cost); 0: not a produce.
    std::size_t produced = 0;
    bool page = false;                  // error: the answer to a fetch (its page budget frees)
    Errc code = Errc::ok;               // error
    std::string detail;                 // error: what exactly, for people
    std::string session;                // direct: the receiving session
    std::string user;                   // user: every live session of this user receives it
    std::string queue;                  // direct, fanout, user, fetched, replay
    std::string id;                     // ack, direct, fanout, user: message id
    std::string data;                   // direct, fanout, user: JSON text
    std::int64_t ts = 0;                // direct, fanout, user: ms since the epoch
    std::int64_t offset = 0;            // direct, fanout, user: place in the queue's stream
    std::vector<StoredFrame> messages;  // fetched, replay: in offset order
    std::int64_t gap_from = 0;          // replay: [gap_from, gap_to] are gone (retention)
    std::int64_t gap_to = 0;
    std::int64_t next = 0;  // fetched, replay: the offset to read from next
    bool more = false;      // replay: the page was not empty, so another may follow
    std::uint64_t replay = 0;  // replay: the caller's id for the replay, given back
    std::shared_ptr<AdminSnapshot> admin;  // admin: gathered, for the admin page
};

struct HandedOn {
    std::uint64_t connection = 0;  // that sent the produce
    std::size_t cost = 0;          // ClientProduce::cost
};

class ClientSink {
public:
    virtual ~ClientSink() = default;
    // Thread-safe; called on the mesh thread.
    virtual void push(ClientBound&& event) = 0;
    // The same for many at once, in order.
    virtual void push_all(std::vector<ClientBound>&& events) {
        for (auto& event : events) push(std::move(event));
    }
    // Produces that asked for no answer (no ref) and were handed on, one entry per produce:
    // the connection that sent it and the produce's cost. Only for back-pressure, so much
    // lighter than an ack each.
    virtual void handed_on(std::vector<HandedOn>&& produces) {
        for (const HandedOn& p : produces)
            push({.kind = ClientBound::Kind::ack, .connection = p.connection, .produced = p.cost});
    }
};

struct RouterStats {
    std::atomic<std::uint64_t> routed{0};         // client messages handed to a node
    std::atomic<std::uint64_t> no_consumer{0};    // refused: nobody consumes the queue
    std::atomic<std::uint64_t> unavailable{0};    // refused: no consumer took it
    std::atomic<std::uint64_t> delivered_in{0};   // server messages received for clients
    std::atomic<std::uint64_t> bad_data{0};       // server messages dropped: data not JSON
    std::atomic<std::uint64_t> stored{0};         // client messages committed to the store
    std::atomic<std::uint64_t> store_failed{0};   // messages the store refused
    std::atomic<std::uint64_t> acked{0};          // client messages a node acknowledged
    std::atomic<std::uint64_t> redelivered{0};    // client messages sent again
    std::atomic<std::uint64_t> dead_lettered{0};  // client messages that used up their receives
    std::atomic<std::uint64_t> forwarded{0};  // messages of at-most-once queues, passed on unstored
    std::atomic<std::uint64_t> waiting{0};    // of those, waiting for room (a gauge)
};

// The store takes browsers' produces from the router's FairFeed at most this many per round
// (and about this many bytes): bounded rounds, served round-robin by session.
inline constexpr std::size_t kFeedPerRound = 1024;
inline constexpr std::size_t kFeedPerRoundBytes = 4 << 20;

// A browser's produce, on its way to the store and then a node.
struct ClientProduce {
    std::uint64_t connection = 0;
    std::optional<std::uint64_t> ref;
    std::string session;
    std::string user;  // the sender's token sub; empty when anonymous
    std::string queue;
    std::string data;           // JSON text
    std::string id;             // the client's id for it; empty: the edge makes one
    std::int64_t delay_ms = 0;  // scheduling, where the queue allows it for clients
    std::int64_t deliver_at_ms = 0;
    // Bytes it holds of its connection's and the edge's in-flight budgets until answered
    // (its data and about what the edge keeps around it); every answer carries it back.
    std::size_t cost = 0;
};

// A browser's fetch of stored messages.
struct ClientFetch {
    std::uint64_t connection = 0;
    std::optional<std::uint64_t> ref;
    std::string session;
    std::string user;  // the reader's token sub: it also sees messages for its user
    std::string queue;
    std::optional<std::int64_t> from;      // first offset
    std::optional<std::int64_t> since_ms;  // or first creation time
    std::int64_t limit = 100;
    std::size_t max_bytes = 0;  // the page stops before this many bytes (ReadFilter)
};

class Router final : public mesh::MeshHandler, public store::StoreEvents {
public:
    explicit Router(ClientSink& sink) : sink_(sink) {}
    // at_most_once: the queues configured with "durable": false, whose messages go straight
    // to their receivers and never to the store. Called once, before any traffic.
    void attach(mesh::Mesh& mesh, store::Store& store,
                std::unordered_map<std::string, store::QueueSettings> at_most_once = {});

    // The plugins on_produce runs through (null: none). Before the mesh starts: set_plugins;
    // after, use_plugins from any thread (it posts to the mesh thread).
    void set_plugins(std::shared_ptr<plugins::Chain> chain) { plugins_ = std::move(chain); }
    void use_plugins(std::shared_ptr<plugins::Chain> chain);

    // --- HTTP thread -------------------------------------------------------------------
    // Stores the message (the client's ack waits for the commit), then hands it to the node
    // the ring picks; it stays pending until that node acks, and comes again after the
    // queue's visibility timeout otherwise. On an at-most-once queue: hands it to the node
    // at once and acks; nothing is stored and nothing comes again.
    // Takes many at once (one hand-off to the mesh thread), in order.
    void produce(std::vector<ClientProduce> produces);
    void fetch(ClientFetch fetch);
    // Sends connection one page of what session (of user) missed on queue since offset
    // from, at most max_bytes (the first message always comes), as a replay event; its
    // "more" says whether to ask for the next page, from its "next". The caller asks for
    // the next page when the page before it has been written (the outbox drained), so a
    // backlog of any size comes through an outbox of bounded size.
    void replay(std::uint64_t connection, std::string session, std::string user,
                std::string queue, std::int64_t from, std::size_t max_bytes,
                std::uint64_t replay_id);
    // Acks a consume with the offset the queue's next message will get.
    void where(std::uint64_t connection, std::uint64_t ref, std::string queue);
    // Nodes hear of it; the session's user goes with its messages to nodes from now on.
    void client_connected(std::string session, std::string user, bool resumed);
    void client_disconnected(std::string session);
    // The HTTP thread forgot these offline sessions (session_ttl).
    void sessions_expired(std::vector<std::string> sessions);
    // Adds the mesh thread's part to an admin snapshot (members), then the store's (queues),
    // and hands it back as an admin event.
    void admin_snapshot(std::shared_ptr<AdminSnapshot> snapshot);

    // --- the drain ----------------------------------------------------------------------
    // Runs done on the mesh thread once the work handed to the mesh and store threads before
    // the call has run: the node acks read so far are committed, and the messages those
    // commits handed out are on their way to nodes; work-queue receives that wait have
    // answered (StoreCalls::end_waits). Any thread; done never runs if the mesh stops first.
    void settle(std::function<void()> done);

    // --- store thread (StoreEvents) --------------------------------------------------------
    void on_due(std::vector<store::Due> due) override;
    void on_scheduled(std::vector<store::StoredMessage> messages) override;
    void on_dead_lettered(std::vector<store::Due> messages) override;
    // Sends the answers the round gathered (answer_to).
    void on_round_end() override;

    // --- any thread ------------------------------------------------------------------------
    std::size_t node_count() const { return nodes_; }
    std::size_t edge_count() const { return edges_; }
    const RouterStats& stats() const { return stats_; }
    // Produces of stored queues that wait for their turn into the store, and the sessions
    // they are from (gauges).
    std::size_t feed_waiting() const { return feed_.waiting(); }
    std::size_t feed_sessions() const { return feed_.sessions(); }

    // --- mesh thread (MeshHandler) ---------------------------------------------------------
    void on_peer_up(const mesh::PeerInfo& peer) override;
    void on_peer_down(const mesh::PeerInfo& peer) override;
    void on_peer_changed(const mesh::PeerInfo& peer) override;
    void on_deliver(const mesh::PeerInfo& from, const wire::Deliver& msg) override;
    void on_ack(const mesh::PeerInfo& from, const wire::Ack& ack) override;
    void on_request(const mesh::PeerInfo& from, const wire::Request& request) override;
    // Hands on at-most-once messages that waited for room (parked_).
    void on_retry() override;

private:
    struct CachedRing {
        std::uint64_t epoch = ~0ULL;  // membership epoch it was built at
        mesh::Ring ring;
    };
    const mesh::Ring& ring_for(const std::string& queue);
    // The settings of an at-most-once queue; null for a stored one. Any thread.
    const store::QueueSettings* at_most_once(const std::string& queue) const;
    void store_client_message(ClientProduce produce);
    // A client message of an at-most-once queue: to its node now, stored nowhere. When no
    // node of the queue has room in its mesh queue, it waits in parked_, unanswered, so its
    // client's connection stops being read: a slow node slows its senders down instead of
    // failing them. Other queues' messages do not wait behind it.
    void forward_client_message(ClientProduce produce, const store::QueueSettings& settings);
    struct Forward {
        ClientProduce produce;  // with its id set
        std::int64_t created_ms = 0;
        std::chrono::steady_clock::time_point since;  // when it first could not go
    };
    // Hands f to the node its ring picks and answers its client; false if no node took it.
    bool try_forward(const Forward& f);
    // Answers a produce with an error (in answers_).
    void refuse(const ClientProduce& p, Errc code, std::string detail = {});
    // Sends the answers gathered in answers_ and handed_on_.
    void flush_answers();
    // Sends d to the first node on ring that takes it, owner first; false if none did.
    bool send_to_owner(const mesh::Ring& ring, const std::string& client,
                       const mesh::DeliverFields& d);
    // Stores a message a node produced and sends it on to clients once committed; done (may
    // be empty) gets the outcome.
    // Runs on_produce first when a plugin has it for the queue: its verdict comes back to
    // the mesh thread, and a drop or rejection answers done with plugin_dropped / _rejected.
    void store_node_message(std::shared_ptr<store::StoredMessage> message, std::string node,
                            std::function<void(const Status&)> done);
    void store_checked_message(std::shared_ptr<store::StoredMessage> message, std::string node,
                               std::function<void(const Status&)> done);
    // The "produce" call: a node's message that the node wants confirmed once stored.
    void confirmed_produce(const mesh::PeerInfo& from, const wire::Request& request);
    // Answers a node's request (Response with its corr), from any thread. On the store
    // thread the answer waits for the end of the store's round (on_round_end), to go out
    // with the round's other answers to the same node.
    StoreCalls::Reply answer_to(const mesh::PeerInfo& from, const wire::Request& request);
    struct Answer {
        std::shared_ptr<mesh::Link> link;  // to the node that asked
        bool batched = false;              // the node reads wire::Responses
        std::uint64_t corr = 0;
        int code = 0;
        std::string detail;
        std::string result;
    };
    static void send_answers(std::span<const Answer> answers);  // all to one link
    void route(const store::Due& due);
    void to_clients(const store::StoredMessage& message);
    void tell_nodes(wire::ClientEventKind kind, const std::string& session, bool resumed);
    // The user of a session the edge knows (empty: anonymous, or not known since a restart).
    const std::string& user_of(const std::string& session) const;
    // Writes the acks that came in since the last call, in one piece of work.
    void write_acks();
    void recount();
    // The store thread's part of an admin snapshot, then back to the HTTP thread.
    void admin_queues(std::shared_ptr<AdminSnapshot> snapshot);

    ClientSink& sink_;
    std::shared_ptr<plugins::Chain> plugins_;  // on_produce's chain (mesh thread)
    mesh::Mesh* mesh_ = nullptr;
    store::Store* store_ = nullptr;
    std::unique_ptr<StoreCalls> calls_;                  // node requests to the store
    // Browsers' produces of stored queues, in a lane per session, until the store takes them
    // (add: mesh thread; take: store thread; FairFeed has its own lock).
    FairFeed feed_;
    bool fed_ = false;  // a produce was added to feed_ in this batch: tell the store (mesh thread)
    std::unordered_map<std::string, CachedRing> rings_;  // by queue
    // Users of the sessions with one (mesh thread): what nodes are told a message's sender
    // is. Filled at hello, emptied when the HTTP thread forgets the session.
    std::unordered_map<std::string, std::string> users_;
    std::unordered_map<std::string, store::QueueSettings> at_most_once_;  // set before traffic
    std::vector<std::string> acks_;         // node acks not handed to the store yet (mesh thread)
    std::vector<ClientBound> answers_;      // answers to a batch of produces (mesh thread)
    std::vector<HandedOn> handed_on_;       // and the produces that wanted none (no ref)
    // At-most-once messages waiting for room, by queue, in order.
    std::unordered_map<std::string, std::deque<Forward>> parked_;
    std::size_t parked_count_ = 0;       // their number
    std::size_t parked_bytes_ = 0;       // and their data
    std::vector<Answer> node_answers_;   // to node calls, gathered in this store round
    QueueCounts out_to_nodes_;            // client messages handed to nodes (mesh thread)
    QueueCounts in_unstored_;             // messages taken for at-most-once queues (mesh thread)
    QueueCounts dead_lettered_;           // client messages dead-lettered (store thread)
    std::atomic<std::size_t> nodes_{0};  // live server nodes that know us
    std::atomic<std::size_t> edges_{0};  // other live edges
    RouterStats stats_;
};

}  // namespace adashta::edge
