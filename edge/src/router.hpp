// The edge's mesh side: routes browser messages to server nodes and server messages back to
// browsers. It runs on the mesh thread; the HTTP thread reaches it only through the
// produce/client_* calls, which post to that thread, and it answers through a ClientSink.
//
// Routing: for each queue, a consistent-hash ring over the live server nodes that consume
// it, keyed by session id, rebuilt only when membership changes. A send that the owner's
// connection refuses (it just died) goes to the next node on the ring.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "adashta/mesh/mesh.hpp"
#include "adashta/mesh/ring.hpp"

namespace adashta::edge {

// What the mesh side hands the HTTP thread.
struct ClientBound {
    enum class Kind { ack, error, direct, fanout };
    Kind kind = Kind::ack;
    std::uint64_t connection = 0;      // ack, error: the connection that asked
    std::optional<std::uint64_t> ref;  // ack, error: the frame's ref; none = answer nothing
    Errc code = Errc::ok;              // error
    std::string session;               // direct: the receiving session
    std::string queue;                 // direct, fanout
    std::string id;                    // ack, direct, fanout: message id
    std::string data;                  // direct, fanout: JSON text
    std::int64_t ts = 0;               // direct, fanout: ms since the epoch
};

class ClientSink {
public:
    virtual ~ClientSink() = default;
    // Thread-safe; called on the mesh thread.
    virtual void push(ClientBound&& event) = 0;
};

struct RouterStats {
    std::atomic<std::uint64_t> routed{0};        // client messages handed to a node
    std::atomic<std::uint64_t> no_consumer{0};   // refused: nobody consumes the queue
    std::atomic<std::uint64_t> unavailable{0};   // refused: no consumer took it
    std::atomic<std::uint64_t> delivered_in{0};  // server messages received for clients
    std::atomic<std::uint64_t> bad_data{0};      // server messages dropped: data not JSON
};

class Router final : public mesh::MeshHandler {
public:
    explicit Router(ClientSink& sink) : sink_(sink) {}
    void attach(mesh::Mesh& mesh) { mesh_ = &mesh; }

    // --- HTTP thread -------------------------------------------------------------------
    void produce(std::uint64_t connection, std::optional<std::uint64_t> ref, std::string session,
                 std::string queue, std::string data);
    void client_connected(std::string session, bool resumed);
    void client_disconnected(std::string session);

    // --- any thread ------------------------------------------------------------------------
    std::size_t node_count() const { return nodes_; }
    std::size_t edge_count() const { return edges_; }
    const RouterStats& stats() const { return stats_; }

    // --- mesh thread (MeshHandler) ---------------------------------------------------------
    void on_peer_up(const mesh::PeerInfo& peer) override;
    void on_peer_down(const mesh::PeerInfo& peer) override;
    void on_peer_changed(const mesh::PeerInfo& peer) override;
    void on_deliver(const mesh::PeerInfo& from, const wire::Deliver& msg) override;

private:
    struct CachedRing {
        std::uint64_t epoch = ~0ULL;  // membership epoch it was built at
        mesh::Ring ring;
    };
    const mesh::Ring& ring_for(const std::string& queue);
    void route(std::uint64_t connection, std::optional<std::uint64_t> ref,
               const std::string& session, const std::string& queue, const std::string& data);
    void tell_nodes(wire::ClientEventKind kind, const std::string& session, bool resumed);
    void recount();

    ClientSink& sink_;
    mesh::Mesh* mesh_ = nullptr;
    std::unordered_map<std::string, CachedRing> rings_;  // by queue
    std::atomic<std::size_t> nodes_{0};                  // live server nodes that know us
    std::atomic<std::size_t> edges_{0};                  // other live edges
    RouterStats stats_;
};

}  // namespace adashta::edge
