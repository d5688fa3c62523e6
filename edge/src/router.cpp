#include "router.hpp"

#include "adashta/ids.hpp"
#include "adashta/json.hpp"
#include "adashta/log.hpp"

namespace adashta::edge {

void Router::produce(std::uint64_t connection, std::optional<std::uint64_t> ref,
                     std::string session, std::string queue, std::string data) {
    mesh_->post([this, connection, ref, session = std::move(session), queue = std::move(queue),
                 data = std::move(data)] { route(connection, ref, session, queue, data); });
}

void Router::client_connected(std::string session, bool resumed) {
    mesh_->post([this, session = std::move(session), resumed] {
        tell_nodes(wire::ClientEventKind::Connected, session, resumed);
    });
}

void Router::client_disconnected(std::string session) {
    mesh_->post([this, session = std::move(session)] {
        tell_nodes(wire::ClientEventKind::Disconnected, session, false);
    });
}

const mesh::Ring& Router::ring_for(const std::string& queue) {
    CachedRing& cached = rings_[queue];
    const std::uint64_t epoch = mesh_->members().epoch();
    if (cached.epoch != epoch) {
        cached.ring = mesh::Ring{mesh_->members().consumers(queue)};
        cached.epoch = epoch;
    }
    return cached.ring;
}

void Router::route(std::uint64_t connection, std::optional<std::uint64_t> ref,
                   const std::string& session, const std::string& queue, const std::string& data) {
    const mesh::Ring& ring = ring_for(queue);
    if (ring.empty()) {
        ++stats_.no_consumer;
        sink_.push({.kind = ClientBound::Kind::error,
                    .connection = connection,
                    .ref = ref,
                    .code = Errc::no_consumer});
        return;
    }
    std::string id = new_message_id();
    auto& fbb = mesh_->builder();
    mesh::encode_deliver(
        fbb, {.id = id, .queue = queue, .client = session, .data = data, .created_ms = now_ms()});
    // The owner first; if its connection refuses (it just died and has not expired yet),
    // the node that will own the session once it is gone.
    for (std::string_view node : ring.owners(session, ring.members().size())) {
        if (mesh_->send(std::string{node}, fbb)) {
            ++stats_.routed;
            sink_.push({.kind = ClientBound::Kind::ack,
                        .connection = connection,
                        .ref = ref,
                        .id = std::move(id)});
            return;
        }
    }
    ++stats_.unavailable;
    sink_.push({.kind = ClientBound::Kind::error,
                .connection = connection,
                .ref = ref,
                .code = Errc::node_unavailable});
}

void Router::tell_nodes(wire::ClientEventKind kind, const std::string& session, bool resumed) {
    auto& fbb = mesh_->builder();
    mesh::encode_client_event(fbb, kind, session, resumed);
    for (const auto& [id, peer] : mesh_->members().peers())
        if (peer.role == wire::Role::Node) mesh_->send(id, fbb);
}

void Router::on_deliver(const mesh::PeerInfo& from, const wire::Deliver& msg) {
    (void)from;
    ++stats_.delivered_in;
    const std::string_view data = mesh::view(msg.data());
    // Node data is spliced into browser frames as is, so it must be JSON.
    if (!json::is_valid(data)) {
        ++stats_.bad_data;
        log::warn("edge", "dropped a message from node " + from.name + ": data is not JSON");
        return;
    }
    ClientBound event;
    event.kind = msg.fanout() ? ClientBound::Kind::fanout : ClientBound::Kind::direct;
    event.session = mesh::view(msg.client());
    event.queue = mesh::view(msg.queue());
    event.id = mesh::view(msg.id());
    event.data = data;
    event.ts = msg.created_ms();
    sink_.push(std::move(event));
}

void Router::recount() {
    std::size_t nodes = 0;
    std::size_t edges = 0;
    for (const auto& [id, peer] : mesh_->members().peers()) {
        if (peer.role == wire::Role::Node && peer.knows_us) ++nodes;
        if (peer.role == wire::Role::Edge) ++edges;
    }
    nodes_ = nodes;
    edges_ = edges;
}

void Router::on_peer_up(const mesh::PeerInfo& peer) {
    log::info("edge", std::string{peer.role == wire::Role::Edge ? "edge" : "node"} + " " +
                          (peer.name.empty() ? peer.id : peer.name) + " joined from " +
                          peer.endpoint);
    recount();
}

void Router::on_peer_changed(const mesh::PeerInfo& peer) {
    (void)peer;
    recount();
}

void Router::on_peer_down(const mesh::PeerInfo& peer) {
    (void)peer;
    recount();
}

}  // namespace adashta::edge
