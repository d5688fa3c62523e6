// The C++ SDK's node side (sdk/cpp/src/node.cpp) behind the mesh: a fresh adashta::Node per
// input, with the application's handlers set (node_harness.hpp says what they do: some
// throw, some defer, reply, unconsume or stop the node), whose Mesh never starts: frames
// from fake edges and a fake peer node go to Mesh::receive, the entry its mesh thread's
// drain_router uses, and what the node sends lands in a loopback sink (mesh_harness.hpp).
// This thread plays the mesh thread; the node's handler thread and the application's
// calling threads run as they do in an application. After each step it waits (bounded)
// until the mesh tasks and the handler thread have nothing left to do.
//
// Findings: crashes, leaks, sanitizer reports, deadlocks (a step not settling in 5 s); a
// frame the node sends that does not verify; an ack for a message no edge delivered as
// stored (receive_count > 0); a handler given a message with receive_count 0 or of a queue
// it does not consume; a call that does not return once its edge answers or the harness
// fails it.
//
// node.cpp is compiled into this file (not linked from adashta_node), so that
// NodeFuzzAccess, the friend node.hpp declares, can reach Node::Impl. Impl entry points it
// calls: the MeshHandler ones through Mesh::receive (on_peer_up, on_peer_changed,
// on_peer_down, on_deliver, on_response, on_client_event), and through the public API
// consume, unconsume, on_connection, on_disconnection, on_error, defer, produce, call, stop.
#include "../sdk/cpp/src/node.cpp"

#include <poll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adashta/log.hpp"
#include "check.hpp"
#include "mesh_harness.hpp"
#include "node_harness.hpp"

namespace adashta {

// The node's insides, for this harness only (node.hpp befriends it).
struct NodeFuzzAccess {
    // What Node::start() does, except that the mesh does not start: the caller plays its
    // thread (MeshFuzzAccess::open_tasks, run_tasks).
    static mesh::Mesh& start_unstarted(Node& node) {
        Node::Impl& impl = *node.impl_;
        mesh::MeshOptions options;
        options.role = wire::Role::Node;
        options.name = "fuzz-node";
        impl.mesh_ = std::make_unique<mesh::Mesh>(std::move(options), impl);
        impl.mesh_->set_queues(impl.queue_names());
        impl.ack_channel_ = std::make_shared<AckChannel>(*impl.mesh_);
        impl.handlers_thread_.start();
        return *impl.mesh_;
    }
    // Runs fn on the handler thread after what it has queued; false once it stops.
    static bool post_to_handlers(Node& node, std::function<void()> fn) {
        if (node.impl_->handlers_thread_.stopping()) return false;
        node.impl_->handlers_thread_.post(std::move(fn));
        return true;
    }
    static bool handlers_stopping(Node& node) { return node.impl_->handlers_thread_.stopping(); }
    // The corr the next call gets.
    static std::uint64_t next_corr(Node& node) {
        std::lock_guard lock{node.impl_->calls_mutex_};
        return node.impl_->next_corr_;
    }
    // Whether call corr waits for its answer, sent (no caller is sending).
    static bool call_waits(Node& node, std::uint64_t corr) {
        {
            std::lock_guard lock{node.impl_->calls_mutex_};
            if (!node.impl_->calls_.contains(corr)) return false;
        }
        std::lock_guard lock{node.impl_->send_mutex_};
        return !node.impl_->sending_;
    }
    // Every call still waiting gets timed_out now, as its wait would end.
    static void fail_calls(Node& node) {
        std::vector<std::uint64_t> waiting;
        {
            std::lock_guard lock{node.impl_->calls_mutex_};
            for (const auto& [corr, promise] : node.impl_->calls_) waiting.push_back(corr);
        }
        for (std::uint64_t corr : waiting)
            node.impl_->finish_call(corr, make_error(Errc::timed_out, "the fuzz input ended"));
    }
};

}  // namespace adashta

using namespace adashta;
using fuzz::NodeOp;
using fuzz::NodeStep;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Every handler that throws is logged at error; the rest is noise here.
    log::set_level(log::Level::error);
    return 0;
}

namespace {

class NodeWorld {
public:
    NodeWorld() {
        for (const auto& queue : fuzz::node_queues()) consume(queue);
        node_.on_connection([](const ClientEvent& e) {
            if (e.user == "throw") throw std::runtime_error{"connection handler: " + e.client};
        });
        node_.on_disconnection([](const ClientEvent& e) { fuzz::touch(e.client); });
        node_.on_error([](const HandlerError& error) {
            fuzz::touch(error.what);
            FUZZ_CHECK(error.exception != nullptr);
            if (error.what == "an exception that is not a std::exception")
                throw std::logic_error{"the error hook throws too"};
        });
        mesh_ = &NodeFuzzAccess::start_unstarted(node_);
        out_ = std::make_unique<fuzz::LoopbackSink>(*mesh_);
        mesh::MeshFuzzAccess::open_tasks(*mesh_);
    }
    NodeWorld(const NodeWorld&) = delete;
    NodeWorld& operator=(const NodeWorld&) = delete;

    // As an application ends: its threads return, it stops the node, the node goes.
    ~NodeWorld() {
        NodeFuzzAccess::fail_calls(node_);
        for (auto& caller : callers_) caller.join();
        {
            std::lock_guard lock{deferred_mutex_};
            deferred_.clear();  // released: they come again
        }
        node_.stop();
        mesh::MeshFuzzAccess::close_tasks(*mesh_);
        drain();
        out_.reset();  // in the mesh's context: before the node's mesh goes
    }

    void join(std::size_t peer) {
        flatbuffers::FlatBufferBuilder fbb;
        fuzz::encode_node_peer_hello(fbb, peer);
        frame(static_cast<std::uint8_t>(peer),
              {reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()});
    }

    void apply(const NodeStep& step) {
        switch (step.op) {
            case NodeOp::frame:
                frame(step.peer, step.bytes);
                break;
            case NodeOp::call: {
                const auto [op, args] = split(step.bytes);
                start_caller([this, op = std::string{op}, args = std::string{args}] {
                    (void)node_.call(op, args);
                });
                break;
            }
            case NodeOp::produce: {
                const auto [queue, data] = split(step.bytes);
                ProduceOptions options;
                if (step.flag) options.to = fuzz::kNodeClient;
                options.confirm = step.confirm;
                if (step.confirm)
                    start_caller([this, queue = std::string{queue}, data = std::string{data},
                                  options] { (void)node_.produce(queue, data, options); });
                else
                    (void)node_.produce(queue, data, options);
                break;
            }
            case NodeOp::consume:
                consume(std::string{step.bytes});
                break;
            case NodeOp::unconsume:
                node_.unconsume(std::string{step.bytes});
                break;
            case NodeOp::settle: {
                std::vector<Delivery> settled;
                {
                    std::lock_guard lock{deferred_mutex_};
                    settled.swap(deferred_);
                }
                for (auto& d : settled) step.flag ? d.ack() : d.release();
                break;
            }
        }
        settle();
    }

    // The end of an input: calls still waiting fail, their threads return.
    void finish() {
        NodeFuzzAccess::fail_calls(node_);
        for (auto& caller : callers_) caller.join();
        callers_.clear();
        settle();
    }

private:
    static std::pair<std::string_view, std::string_view> split(std::string_view bytes) {
        const auto end = bytes.find('\0');
        if (end == std::string_view::npos) return {bytes, {}};
        return {bytes.substr(0, end), bytes.substr(end + 1)};
    }

    void consume(const std::string& queue) {
        (void)node_.consume(queue, [this](const Message& m) { handle(m); });
    }

    // The application's message handler (node_harness.hpp says what it does).
    void handle(const Message& m) {
        FUZZ_CHECK(m.receive_count >= 1);
        FUZZ_CHECK(is_valid_queue_name(m.queue));
        fuzz::touch(m.id);
        fuzz::touch(m.client);
        fuzz::touch(m.user);
        const std::string_view data = m.data;
        if (data.find("throw") != std::string_view::npos)
            throw std::runtime_error{"the handler of " + m.queue + " fails"};
        if (data.find("int") != std::string_view::npos) throw 42;
        if (data.find("defer") != std::string_view::npos) {
            Delivery d = node_.defer(m);
            FUZZ_CHECK(!node_.defer(m).pending());  // once only
            std::lock_guard lock{deferred_mutex_};
            deferred_.push_back(std::move(d));
            return;
        }
        if (data.find("reply") != std::string_view::npos)
            (void)node_.produce(m.queue, m.data, {.to = m.client});
        else if (data.find("user") != std::string_view::npos)
            (void)node_.produce(m.queue, m.data, {.to_user = m.user});
        else if (data.find("unconsume") != std::string_view::npos)
            node_.unconsume(m.queue);
        else if (data.find("stop") != std::string_view::npos)
            node_.stop();
    }

    void frame(std::uint8_t peer, std::string_view bytes) {
        // What a stored delivery from a member may be acked as.
        std::vector<std::uint64_t> aligned((bytes.size() + 7) / 8);
        if (!bytes.empty()) std::memcpy(aligned.data(), bytes.data(), bytes.size());
        if (const auto* env = mesh::open_envelope(aligned.data(), bytes.size()))
            if (const auto* d = env->body_as_Deliver(); d && d->receive_count() > 0)
                ackable_.emplace(mesh::view(d->id()));
        fuzz::LoopbackMesh::receive_into(*mesh_, fuzz::kSenders[peer], "", bytes);
    }

    // An application thread making a blocking call; returns once the call is on its way
    // (waits for its answer), or done.
    template <class F>
    void start_caller(F&& call) {
        const std::uint64_t corr = NodeFuzzAccess::next_corr(node_);
        auto done = std::make_shared<std::atomic<bool>>(false);
        callers_.emplace_back([call = std::forward<F>(call), done] {
            call();
            *done = true;
        });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
        while (!*done && !NodeFuzzAccess::call_waits(node_, corr)) {
            FUZZ_CHECK(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(std::chrono::microseconds{50});
        }
    }

    // Rounds of "run the mesh's tasks, then let the handler thread run what it has" until a
    // round finds nothing to do.
    void settle() {
        for (int round = 0; round < 8; ++round) {
            std::size_t ran = mesh::MeshFuzzAccess::run_tasks(*mesh_);
            drain();
            wait_for_handlers();
            ran += mesh::MeshFuzzAccess::run_tasks(*mesh_);
            drain();
            if (ran == 0) return;
        }
    }

    void wait_for_handlers() {
        auto idle = std::make_shared<std::atomic<bool>>(false);
        if (!NodeFuzzAccess::post_to_handlers(node_, [idle] { *idle = true; })) return;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
        // A handler that stops the node drops what was queued behind it, this too.
        while (!*idle && !NodeFuzzAccess::handlers_stopping(node_)) {
            FUZZ_CHECK(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(std::chrono::microseconds{20});
        }
    }

    void drain() {
        out_->drain([this](const wire::Envelope& env) {
            if (const auto* ack = env.body_as_Ack())
                FUZZ_CHECK(ackable_.contains(std::string{mesh::view(ack->id())}));
        });
    }

    Node node_{NodeOptions{}};
    mesh::Mesh* mesh_ = nullptr;               // node_'s, never started
    std::unique_ptr<fuzz::LoopbackSink> out_;  // in mesh_'s context
    std::set<std::string, std::less<>> ackable_;  // ids delivered stored (receive_count > 0)
    std::vector<std::thread> callers_;
    std::mutex deferred_mutex_;        // the handler thread fills deferred_, this one empties
    std::vector<Delivery> deferred_;   // taken by the handler, to settle
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view in{reinterpret_cast<const char*>(data), size};
    NodeWorld world;
    for (std::size_t peer = 0; peer < fuzz::node_peers().size(); ++peer)
        if ((static_cast<std::uint8_t>(in[0]) >> peer) & 1) world.join(peer);
    for (const NodeStep& step : fuzz::split_node_steps(in.substr(1))) world.apply(step);
    world.finish();
    return 0;
}
