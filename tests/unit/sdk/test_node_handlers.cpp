// What a node does when its handlers throw, stop it, or take messages for a later ack
// (node.hpp: on_error, stop, defer, Delivery), against an edge played by a bare mesh member
// that delivers messages and records the acks that come back.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "adashta/mesh/mesh.hpp"
#include "adashta/node.hpp"

using namespace adashta;
using namespace std::chrono_literals;

namespace {

struct DeliveringEdge final : mesh::MeshHandler {
    mesh::Mesh mesh{{.role = wire::Role::Edge, .name = "delivering-edge"}, *this};
    std::mutex mutex;  // guards node_id, acked
    std::condition_variable changed;
    std::string node_id;
    std::vector<std::string> acked;  // message ids, in arrival order

    DeliveringEdge() { REQUIRE(mesh.start()); }
    ~DeliveringEdge() override { mesh.stop(); }

    void on_peer_up(const mesh::PeerInfo& peer) override {
        std::lock_guard lock{mutex};
        node_id = peer.id;
        changed.notify_all();
    }
    void on_ack(const mesh::PeerInfo&, const wire::Ack& ack) override {
        std::lock_guard lock{mutex};
        acked.emplace_back(mesh::view(ack.id()));
        changed.notify_all();
    }

    // A message from client c1 on queue; receive_count 0 is an at-most-once queue's.
    void deliver(const std::string& id, const std::string& queue, std::uint32_t receive_count = 1) {
        mesh.post([this, id, queue, receive_count] {
            auto& fbb = mesh.builder();
            mesh::encode_deliver(fbb, {.id = id,
                                       .queue = queue,
                                       .client = "c1",
                                       .data = "{}",
                                       .offset = receive_count > 0 ? 1 : 0,
                                       .receive_count = receive_count});
            mesh.send(node_id, fbb);
        });
    }
    void connect_client(const std::string& client) {
        mesh.post([this, client] {
            auto& fbb = mesh.builder();
            mesh::encode_client_event(fbb, wire::ClientEventKind::Connected, client, false);
            mesh.send(node_id, fbb);
        });
    }

    bool wait_acked(const std::string& id, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock{mutex};
        return changed.wait_for(lock, timeout, [&] {
            return std::find(acked.begin(), acked.end(), id) != acked.end();
        });
    }
    std::vector<std::string> acks() {
        std::lock_guard lock{mutex};
        return acked;
    }
};

NodeOptions options_for(const DeliveringEdge& edge) {
    NodeOptions options;
    options.seeds = {edge.mesh.endpoint()};
    return options;
}

// Starts node and waits until it and the edge know each other.
void join(Node& node, DeliveringEdge& edge) {
    REQUIRE(node.start());
    REQUIRE(node.wait_for_edges(1, 10s));
    std::unique_lock lock{edge.mutex};
    REQUIRE(edge.changed.wait_for(lock, 10s, [&] { return !edge.node_id.empty(); }));
}

// A flag one thread sets and another waits for.
struct Signal {
    std::mutex mutex;
    std::condition_variable cv;
    bool set = false;
    void raise() {
        std::lock_guard lock{mutex};
        set = true;
        cv.notify_all();
    }
    bool wait(std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock{mutex};
        return cv.wait_for(lock, timeout, [&] { return set; });
    }
};

struct NotAStdException {};

}  // namespace

TEST_CASE("a handler that throws leaves its message unacked and the node goes on", "[node]") {
    DeliveringEdge edge;
    Node node{options_for(edge)};
    std::mutex mutex;
    std::vector<HandlerError> errors;
    node.on_error([&](const HandlerError& e) {
        std::lock_guard lock{mutex};
        errors.push_back(e);
    });
    REQUIRE(node.consume("q", [](const Message& m) {
        if (m.id == "std") throw std::runtime_error("disk full");
        if (m.id == "other") throw NotAStdException{};
    }));
    join(node, edge);
    edge.deliver("std", "q");
    edge.deliver("other", "q");
    edge.deliver("fine", "q");
    REQUIRE(edge.wait_acked("fine"));
    CHECK(edge.acks() == std::vector<std::string>{"fine"});
    std::lock_guard lock{mutex};
    REQUIRE(errors.size() == 2);
    CHECK(errors[0].source == HandlerError::Source::message);
    CHECK(errors[0].queue == "q");
    CHECK(errors[0].message_id == "std");
    CHECK(errors[0].receive_count == 1);
    CHECK(errors[0].what == "disk full");
    CHECK(errors[1].message_id == "other");
    CHECK(errors[1].what.find("not a std::exception") != std::string::npos);
    bool rethrown_as_thrown = false;
    try {
        std::rethrow_exception(errors[1].exception);
    } catch (const NotAStdException&) {
        rethrown_as_thrown = true;
    }
    CHECK(rethrown_as_thrown);
}

TEST_CASE("a connection handler or error hook that throws does not stop the node", "[node]") {
    DeliveringEdge edge;
    Node node{options_for(edge)};
    std::atomic<int> hook_calls{0};
    node.on_connection([](const ClientEvent&) { throw std::logic_error("bad greeting"); });
    node.on_error([&](const HandlerError& e) {
        if (e.source == HandlerError::Source::connection && e.client == "c7") ++hook_calls;
        throw std::runtime_error("the hook fails too");
    });
    REQUIRE(node.consume("q", [](const Message&) {}));
    join(node, edge);
    edge.connect_client("c7");
    edge.deliver("after", "q");
    REQUIRE(edge.wait_acked("after"));
    CHECK(hook_calls == 1);
}

TEST_CASE("stop() from inside a handler, then destroying the node, ends cleanly", "[node]") {
    DeliveringEdge edge;
    auto node = std::make_unique<Node>(options_for(edge));
    Signal stopped;
    std::atomic<int> handled{0};
    REQUIRE(node->consume("q", [&](const Message&) {
        ++handled;
        node->stop();  // returns without waiting for this very handler
        stopped.raise();
    }));
    join(*node, edge);
    edge.deliver("m1", "q");
    edge.deliver("m2", "q");
    REQUIRE(stopped.wait());
    node.reset();  // joins the handler thread: no abort, no leak (ASan)
    CHECK(handled == 1);
    CHECK(edge.acks().empty());  // the stopped node sent no ack
}

TEST_CASE("stop() from a handler and from another thread at once both return", "[node]") {
    DeliveringEdge edge;
    Node node{options_for(edge)};
    Signal in_handler;
    REQUIRE(node.consume("q", [&](const Message&) {
        in_handler.raise();
        node.stop();
    }));
    join(node, edge);
    edge.deliver("m1", "q");
    REQUIRE(in_handler.wait());
    node.stop();
    node.stop();  // idempotent
}

TEST_CASE("a deferred message is acked from another thread after its handler returned",
          "[node]") {
    DeliveringEdge edge;
    Node node{options_for(edge)};
    Signal go;
    std::thread worker;
    std::atomic<bool> pending_in_handler{false};
    std::atomic<bool> pending_after_ack{true};
    REQUIRE(node.consume("q", [&](const Message& m) {
        if (m.id != "later") return;
        Delivery delivery = node.defer(m);
        pending_in_handler = delivery.pending();
        worker = std::thread{[&, d = std::move(delivery)]() mutable {
            go.wait();
            d.ack();
            pending_after_ack = d.pending();
            d.ack();  // twice: nothing more
        }};
    }));
    join(node, edge);
    edge.deliver("later", "q");
    edge.deliver("probe", "q");  // acked when its handler returns, after "later"'s did
    REQUIRE(edge.wait_acked("probe"));
    CHECK(edge.acks() == std::vector<std::string>{"probe"});  // not acked by the return
    CHECK(pending_in_handler);
    go.raise();
    CHECK(edge.wait_acked("later"));
    worker.join();
    CHECK_FALSE(pending_after_ack);
}

TEST_CASE("a released or dropped Delivery sends no ack", "[node]") {
    DeliveringEdge edge;
    Node node{options_for(edge)};
    std::atomic<int> wrong{0};  // pending() said what it should not
    REQUIRE(node.consume("q", [&](const Message& m) {
        if (m.id == "released") {
            Delivery d = node.defer(m);
            d.release();
            if (d.pending()) ++wrong;
        } else if (m.id == "dropped") {
            Delivery d = node.defer(m);  // destroyed pending: released
        } else if (m.id == "twice") {
            Delivery first = node.defer(m);
            if (node.defer(m).pending()) ++wrong;  // a second defer gets nothing
            first.ack();
        }
    }));
    join(node, edge);
    edge.deliver("released", "q");
    edge.deliver("dropped", "q");
    edge.deliver("twice", "q");
    edge.deliver("plain", "q");
    REQUIRE(edge.wait_acked("plain"));
    CHECK(edge.acks() == std::vector<std::string>{"twice", "plain"});
    CHECK(wrong == 0);
}

TEST_CASE("deferring an at-most-once message gives a handle with nothing to ack", "[node]") {
    DeliveringEdge edge;
    Node node{options_for(edge)};
    Signal handled;
    std::atomic<bool> pending{true};
    REQUIRE(node.consume("q", [&](const Message& m) {
        Delivery d = node.defer(m);
        pending = d.pending();
        d.ack();  // does nothing
        handled.raise();
    }));
    join(node, edge);
    edge.deliver("amo", "q", 0);
    REQUIRE(handled.wait());
    CHECK_FALSE(pending);
}

TEST_CASE("a Delivery acked after its node is gone does nothing", "[node]") {
    DeliveringEdge edge;
    auto node = std::make_unique<Node>(options_for(edge));
    Delivery kept;
    Signal handled;
    REQUIRE(node->consume("q", [&](const Message& m) {
        kept = node->defer(m);
        handled.raise();
    }));
    join(*node, edge);
    edge.deliver("kept", "q");
    REQUIRE(handled.wait());
    node.reset();
    CHECK(kept.pending());
    kept.ack();  // the node stopped: nothing is sent, nothing is touched
    CHECK_FALSE(kept.pending());
}
