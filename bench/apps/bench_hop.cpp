// adashta-bench-hop: what one mesh hop costs over raw ZeroMQ (bench/CONTRACT.md, "Other
// Adashta tools"). Both halves run in this process over tcp://127.0.0.1, each with two
// threads that echo messages to each other:
//
//   zmq:  a DEALER sends --size bytes to a ROUTER, whose thread sends each one back.
//   mesh: two adashta::mesh::Mesh members, an edge and a node, joined the real way (Hello,
//         membership). The edge's mesh thread encodes a Deliver (id, queue, client, data of
//         --size bytes) and sends it to the node; the node's MeshHandler::on_deliver encodes
//         a Deliver back. That is the path a message takes between an edge and a server node:
//         FlatBuffers encode, DEALER -> ROUTER, verification, membership check, handler.
//
//   adashta-bench-hop --messages 200000 --size 64
//
// Throughput: --messages echoes with up to --window outstanding; rate = messages / s (each
// crosses the hop once each way). Round trip: --rtt-rounds echoes with one outstanding.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "adashta/ids.hpp"
#include "adashta/mesh/codec.hpp"
#include "adashta/mesh/mesh.hpp"
#include "flags.hpp"
#include "histogram.hpp"

namespace {

using adashta::bench::Histogram;
using adashta::bench::steady_us;
namespace mesh = adashta::mesh;
namespace wire = adashta::wire;

constexpr const char* kTool = "adashta-bench-hop";
constexpr const char* kUsage =
    "usage: adashta-bench-hop --messages N [--size 64] [--window 1000] [--rtt-rounds 20000]";
constexpr auto kPhaseLimit = std::chrono::seconds{120};  // a phase that takes longer is stuck

struct Outcome {
    double rate = 0;  // echoes per second with the window full
    Histogram rtt;    // µs, one outstanding
};

std::string json_of(const Outcome& o) {
    return "{\"rate\":" + std::to_string(static_cast<std::int64_t>(o.rate)) +
           ",\"rtt_us\":" + o.rtt.json() + "}";
}

[[noreturn]] void die(const std::string& why) {
    std::cerr << kTool << ": " << why << "\n";
    std::exit(1);
}

// ---- raw libzmq ----------------------------------------------------------------------------

// count echoes with up to window outstanding; records each round trip into rtt if given.
// Returns the seconds it took.
double zmq_phase(zmq::socket_t& dealer, const std::string& payload, long count, long window,
                 Histogram* rtt) {
    zmq::message_t reply;
    long sent = 0;
    long received = 0;
    std::int64_t last_send = 0;
    const std::int64_t start = steady_us();
    while (received < count) {
        while (sent < count && sent - received < window) {
            last_send = steady_us();
            dealer.send(zmq::buffer(payload), zmq::send_flags::none);
            ++sent;
        }
        if (!dealer.recv(reply, zmq::recv_flags::none)) die("zmq: recv failed");
        if (rtt) rtt->record(steady_us() - last_send);
        ++received;
    }
    return static_cast<double>(steady_us() - start) / 1e6;
}

Outcome run_zmq(long messages, long size, long window, long rounds) {
    // One context per side, as if they were two processes.
    zmq::context_t router_ctx{1};
    zmq::context_t dealer_ctx{1};
    zmq::socket_t router{router_ctx, zmq::socket_type::router};
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::rcvhwm, 100000);
    router.set(zmq::sockopt::sndhwm, 100000);
    router.bind("tcp://127.0.0.1:*");
    const std::string endpoint = router.get(zmq::sockopt::last_endpoint);

    std::atomic<bool> stop{false};
    std::thread echo{[&] {
        router.set(zmq::sockopt::rcvtimeo, 100);
        zmq::message_t from;
        zmq::message_t body;
        while (!stop) {
            if (!router.recv(from, zmq::recv_flags::none)) continue;  // timed out: check stop
            if (!router.recv(body, zmq::recv_flags::none)) continue;
            router.send(from, zmq::send_flags::sndmore);
            router.send(body, zmq::send_flags::none);
        }
    }};

    zmq::socket_t dealer{dealer_ctx, zmq::socket_type::dealer};
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::sndhwm, 100000);
    dealer.set(zmq::sockopt::rcvhwm, 100000);
    dealer.set(zmq::sockopt::rcvtimeo, 10000);
    dealer.connect(endpoint);
    const std::string payload(static_cast<std::size_t>(size), 'x');

    Outcome out;
    zmq_phase(dealer, payload, 1000, 1, nullptr);  // warm up: connection made, caches hot
    const double took = zmq_phase(dealer, payload, messages, window, nullptr);
    out.rate = static_cast<double>(messages) / took;
    std::cerr << kTool << ": zmq: " << messages << " echoes in " << took << " s\n";
    zmq_phase(dealer, payload, rounds, 1, &out.rtt);
    stop = true;
    echo.join();
    return out;
}

// ---- Adashta mesh --------------------------------------------------------------------------

// The fields of every Deliver sent: the sizes a real one has (a message id, a session id).
struct DeliverTemplate {
    std::string id = adashta::new_message_id();
    std::string queue = "bench";
    std::string client = adashta::new_session_id();
    std::string data;

    void encode(flatbuffers::FlatBufferBuilder& fbb) const {
        mesh::encode_deliver(fbb, {.id = id,
                                   .queue = queue,
                                   .client = client,
                                   .data = data,
                                   .created_ms = 1,
                                   .offset = 1,
                                   .receive_count = 1});
    }
};

// The server node: answers every Deliver with a Deliver back to the edge that sent it.
class EchoNode final : public mesh::MeshHandler {
public:
    mesh::Mesh* mesh = nullptr;  // set before start

    void on_deliver(const mesh::PeerInfo& from, const wire::Deliver& msg) override {
        auto& fbb = mesh->builder();
        mesh::encode_deliver(fbb, {.id = mesh::view(msg.id()),
                                   .queue = mesh::view(msg.queue()),
                                   .client = mesh::view(msg.client()),
                                   .data = mesh::view(msg.data()),
                                   .created_ms = msg.created_ms()});
        if (!mesh->send(from.id, fbb)) ++send_failed;
    }

    std::atomic<long> send_failed{0};
};

// The edge: drives the phases from its own mesh thread, as the real edge sends from there.
class DrivingEdge final : public mesh::MeshHandler {
public:
    mesh::Mesh* mesh = nullptr;  // set before start
    DeliverTemplate deliver;

    // The node, once it has joined and counts us as a member.
    void on_peer_up(const mesh::PeerInfo& peer) override { on_peer_changed(peer); }
    void on_peer_changed(const mesh::PeerInfo& peer) override {
        if (peer.role != wire::Role::Node || !peer.knows_us) return;
        std::lock_guard lock{node_mutex_};
        node_id_ = peer.id;
    }
    bool node_ready() {
        std::lock_guard lock{node_mutex_};
        return !node_id_.empty();
    }

    // Runs one phase on the mesh thread; returns its seconds, or dies if it stalls.
    double phase(long count, long window, Histogram* rtt) {
        std::promise<double> finished;
        auto took = finished.get_future();
        mesh->post([this, count, window, rtt, &finished] {
            {
                std::lock_guard lock{node_mutex_};
                target_ = node_id_;
            }
            count_ = count;
            rtt_ = rtt;
            sent_ = received_ = 0;
            finished_ = &finished;
            start_us_ = steady_us();
            while (sent_ < std::min(count, window)) send_one();
        });
        if (took.wait_for(kPhaseLimit) != std::future_status::ready)
            die("mesh: a phase stalled (" + std::to_string(send_failed.load()) +
                " sends refused); is the loopback interface up?");
        return took.get();
    }

    void on_deliver(const mesh::PeerInfo&, const wire::Deliver&) override {
        if (!finished_) return;
        if (rtt_) rtt_->record(steady_us() - last_send_us_);
        if (++received_ == count_) {
            auto* finished = std::exchange(finished_, nullptr);
            finished->set_value(static_cast<double>(steady_us() - start_us_) / 1e6);
            return;
        }
        if (sent_ < count_) send_one();
    }

    std::atomic<long> send_failed{0};

private:
    void send_one() {
        last_send_us_ = steady_us();
        auto& fbb = mesh->builder();
        deliver.encode(fbb);
        if (!mesh->send(target_, fbb)) ++send_failed;
        ++sent_;
    }

    std::mutex node_mutex_;  // guards node_id_ (mesh thread writes, main reads)
    std::string node_id_;
    // Mesh thread only:
    std::string target_;
    long count_ = 0;
    long sent_ = 0;
    long received_ = 0;
    std::int64_t start_us_ = 0;
    std::int64_t last_send_us_ = 0;
    Histogram* rtt_ = nullptr;
    std::promise<double>* finished_ = nullptr;
};

Outcome run_mesh(long messages, long size, long window, long rounds) {
    DrivingEdge edge_side;
    edge_side.deliver.data = std::string(static_cast<std::size_t>(size), 'x');
    mesh::Mesh edge{{.role = wire::Role::Edge, .name = "hop-edge"}, edge_side};
    edge_side.mesh = &edge;
    if (auto started = edge.start(); !started) die("mesh edge: " + started.error().to_string());

    EchoNode node_side;
    mesh::Mesh node{{.seeds = {edge.endpoint()}, .role = wire::Role::Node, .name = "hop-node"},
                    node_side};
    node_side.mesh = &node;
    if (auto started = node.start(); !started) die("mesh node: " + started.error().to_string());

    const auto joined_by = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (!edge_side.node_ready()) {
        if (std::chrono::steady_clock::now() > joined_by)
            die("mesh: the node did not join the edge at " + edge.endpoint() + " within 10 s");
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }

    Outcome out;
    edge_side.phase(1000, 1, nullptr);  // warm up
    const double took = edge_side.phase(messages, window, nullptr);
    out.rate = static_cast<double>(messages) / took;
    std::cerr << kTool << ": mesh: " << messages << " echoes in " << took << " s\n";
    edge_side.phase(rounds, 1, &out.rtt);
    if (edge_side.send_failed + node_side.send_failed > 0)
        std::cerr << kTool << ": mesh: " << edge_side.send_failed + node_side.send_failed
                  << " sends refused\n";
    node.stop();
    edge.stop();
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    const adashta::bench::Flags flags{
        argc, argv, kUsage, {"--messages", "--size", "--window", "--rtt-rounds"}};
    if (!flags.has("--messages")) flags.fail("--messages is required");
    const long messages = flags.number("--messages", 0, 1, 100'000'000);
    const long size = flags.number("--size", 64, 1, 1 << 20);
    const long window = flags.number("--window", 1000, 1, 50'000);
    const long rounds = flags.number("--rtt-rounds", 20000, 1, 10'000'000);

    std::cerr << kTool << ": " << messages << " messages of " << size << " bytes, window " << window
              << ", " << rounds << " round trips\n";
    const Outcome zmq_result = run_zmq(messages, size, window, rounds);
    const Outcome mesh_result = run_mesh(messages, size, window, rounds);
    std::cout << "{\"tool\":\"" << kTool << "\",\"size\":" << size << ",\"messages\":" << messages
              << ",\"window\":" << window << ",\"mesh\":" << json_of(mesh_result)
              << ",\"zmq\":" << json_of(zmq_result) << "}" << std::endl;
    return 0;
}
