#include "adashta/node.hpp"

#include <sys/eventfd.h>
#include <unistd.h>
#include <algorithm>
#include <cassert>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "adashta/ids.hpp"
#include "adashta/json.hpp"
#include "adashta/log.hpp"
#include "adashta/mesh/mesh.hpp"
#include "adashta/names.hpp"
#include "adashta/text.hpp"

namespace adashta {
namespace {

using mesh::PeerInfo;

std::string_view role_name(wire::Role role) {
    switch (role) {
        case wire::Role::Node:
            return "node";
        case wire::Role::Edge:
            return "edge";
        case wire::Role::Tool:
            return "tool";
    }
    return "unknown";
}

// Reads a positive integer variable into out; records what was wrong otherwise.
template <class T>
void read_number(const char* name, T& out, std::string& error) {
    const char* v = std::getenv(name);
    if (!v || !*v) return;
    long long value = 0;
    const std::string_view s{v};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size() || value <= 0 || value > 3'600'000) {
        error = std::string{name} + "=" + v + " is not a positive number";
        return;
    }
    out = T(value);
}

}  // namespace

NodeOptions NodeOptions::from_env() {
    NodeOptions o;
    if (const char* v = std::getenv("ADASHTA_SEEDS")) o.seeds = split_list(v);
    if (const char* v = std::getenv("ADASHTA_BIND"); v && *v) o.bind = v;
    if (const char* v = std::getenv("ADASHTA_ADVERTISE"); v && *v) o.advertise = v;
    if (const char* v = std::getenv("ADASHTA_BEACON"); v && *v) o.beacon_interface = v;
    if (const char* v = std::getenv("ADASHTA_NAME"); v && *v) o.name = v;
    if (const char* v = std::getenv("ADASHTA_MESH_KEY"); v && *v) o.mesh_key = v;
    if (const char* v = std::getenv("ADASHTA_MESH_SECRET"); v && *v) o.mesh_secret = v;
    if (const char* v = std::getenv("ADASHTA_MESH_ALLOW"); v && *v) o.mesh_allow = v;
    long long port = o.beacon_port;
    read_number("ADASHTA_BEACON_PORT", port, o.env_error);
    if (port > 65535) o.env_error = "ADASHTA_BEACON_PORT must be at most 65535";
    o.beacon_port = static_cast<std::uint16_t>(port);
    long long ms = o.heartbeat.count();
    read_number("ADASHTA_HEARTBEAT_MS", ms, o.env_error);
    o.heartbeat = std::chrono::milliseconds{ms};
    ms = o.peer_timeout.count();
    read_number("ADASHTA_PEER_TIMEOUT_MS", ms, o.env_error);
    o.peer_timeout = std::chrono::milliseconds{ms};
    return o;
}

// The thread user handlers run on, one at a time in arrival order, so that a slow handler
// delays the next messages but never the mesh thread's heartbeats.
class HandlerThread {
public:
    // Joins the thread; from the thread itself that cannot be (Node::~Node checks first).
    ~HandlerThread() { stop(); }

    void start() {
        std::lock_guard lock{mutex_};
        running_ = true;
        running_flag_ = true;
        thread_ = std::thread{[this] { run(); }};
        id_ = thread_.get_id();
    }

    // Waits for the handler that runs now; what has not started yet is dropped (unacked
    // messages come again, to another node). Any thread. From the handler thread itself (a
    // handler calls Node::stop) it only asks: the handler returns into a loop that ends, and
    // the next stop() from another thread (the Node's destructor at the latest) joins.
    void stop() {
        std::deque<std::function<void()>> dropped;  // destroyed outside the lock
        {
            std::lock_guard lock{mutex_};
            running_ = false;
            running_flag_ = false;
            dropped.swap(tasks_);
        }
        wakeup_.notify_one();
        if (on_this_thread()) return;
        std::lock_guard lock{join_mutex_};
        if (thread_.joinable()) thread_.join();
    }

    void post(std::function<void()> task) {
        {
            std::lock_guard lock{mutex_};
            if (!running_) return;
            tasks_.push_back(std::move(task));
        }
        wakeup_.notify_one();
    }

    // id_ is written once, in start(), before any handler can run or call this.
    bool on_this_thread() const { return std::this_thread::get_id() == id_; }
    // For a task that runs many handlers: stop between them once stop() was called.
    bool stopping() const { return !running_flag_.load(std::memory_order_relaxed); }

private:
    void run() {
        std::deque<std::function<void()>> ready;
        for (;;) {
            {
                std::unique_lock lock{mutex_};
                wakeup_.wait(lock, [&] { return !running_ || !tasks_.empty(); });
                if (!running_) return;
                ready.swap(tasks_);  // every task waiting, for one lock
            }
            for (; !ready.empty(); ready.pop_front()) {
                if (stopping()) return;
                ready.front()();
            }
        }
    }

    // Locks: mutex_ and join_mutex_ are never held together.
    std::mutex mutex_;  // guards tasks_, running_
    std::condition_variable wakeup_;
    std::deque<std::function<void()>> tasks_;
    bool running_ = false;
    std::atomic<bool> running_flag_{false};  // running_, readable without the lock
    std::mutex join_mutex_;                  // one stop() joins; the others wait for it
    std::thread thread_;
    std::thread::id id_;  // thread_'s, kept after the join
};

// Where Deliveries send their acks from any thread: the mesh while it runs, nothing after.
class AckChannel {
public:
    explicit AckChannel(mesh::Mesh& mesh) : mesh_(&mesh) {}

    // Any thread: queues the ack on the mesh thread; nothing once closed.
    void ack(std::string edge, std::string id, std::string queue) {
        std::lock_guard lock{mutex_};
        if (!mesh_) return;
        mesh_->post([mesh = mesh_, edge = std::move(edge), id = std::move(id),
                     queue = std::move(queue)] {
            auto& fbb = mesh->builder();
            mesh::encode_ack(fbb, id, queue);
            mesh->send(edge, fbb);
        });
    }

    // Before the mesh stops: later acks do nothing (their messages come again).
    void close() {
        std::lock_guard lock{mutex_};
        mesh_ = nullptr;
    }

private:
    // Locks: mutex_ is taken before the mesh's own task lock (in post), never after.
    std::mutex mutex_;    // guards mesh_
    mesh::Mesh* mesh_;    // null once the node stopped
};

namespace {

// What a thrown exception says, for the log and HandlerError::what.
std::string what_of(const std::exception_ptr& thrown) {
    try {
        std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

}  // namespace

struct Delivery::Target {
    std::shared_ptr<AckChannel> channel;
    std::string edge;  // the edge that delivered it, where the ack goes
    std::string id;
    std::string queue;
};

void Delivery::ack() {
    if (auto target = std::exchange(target_, nullptr))
        target->channel->ack(std::move(target->edge), std::move(target->id),
                             std::move(target->queue));
}

void Delivery::release() {
    target_.reset();  // no ack: the edge delivers it again after the visibility timeout
}

class Node::Impl final : public mesh::MeshHandler {
public:
    explicit Impl(NodeOptions options) : options_(std::move(options)) {}

    HandlerThread handlers_thread_;

    NodeOptions options_;
    std::unique_ptr<mesh::Mesh> mesh_;
    // by queue; mesh thread once started. Shared: a batch on the handler thread may still
    // hold one that unconsume() removed.
    std::map<std::string, std::shared_ptr<const MessageHandler>, std::less<>> handlers_;
    ClientHandler on_connection_;
    ClientHandler on_disconnection_;
    // Shared with the batches on the handler thread, which read it there; mesh thread.
    std::shared_ptr<const ErrorHandler> on_error_;
    // client id -> edge id that holds it
    std::map<std::string, std::string, std::less<>> client_edge_;

    // What the mesh thread read for the handlers in one drain of its socket: handed to the
    // handler thread as one task when the drain ends, in arrival order.
    struct Inbound {
        std::shared_ptr<const MessageHandler> on_message;  // a message, or
        Message message;
        std::string edge;         // where to ack it; empty: not stored, so no ack
        ClientHandler on_client;  // a client event
        ClientEvent client;
        bool connected = false;  // a client event: connection (else disconnection)
        std::shared_ptr<const ErrorHandler> on_error;  // when its handler throws
        bool deferred = false;   // the handler took it (defer): its return does not ack
    };
    // Handler thread: the message whose handler runs now, for defer(); null between them.
    Inbound* current_ = nullptr;
    // Made at start(); Deliveries keep it, so it outlives the node they came from.
    std::shared_ptr<AckChannel> ack_channel_;
    std::mutex stop_mutex_;  // one stop() from outside the handler thread at a time
    std::vector<Inbound> inbound_;
    std::set<std::string> edges_;  // live edge ids

    // Where calls go: the link to the lowest live edge id, so that every node picks the same
    // edge and work queues are one queue however many edges there are. Callers send on it
    // from their own threads (no hop through the mesh thread); the mesh thread keeps it.
    struct CallLink {
        std::shared_ptr<mesh::Link> link;  // null: no edge
        bool batched = false;              // the edge reads wire::Requests
    };
    std::mutex call_link_mutex_;  // guards call_link_
    CallLink call_link_;

    std::mutex edges_mutex_;  // guards edge_count_ waits
    std::condition_variable edges_changed_;
    std::size_t edge_count_ = 0;

    bool started() const { return mesh_ != nullptr; }

    // Runs fn on the mesh thread (now, if this is it), or directly before start.
    template <class F>
    void on_thread(F&& fn) {
        if (!mesh_ || mesh_->on_mesh_thread())
            fn();
        else
            mesh_->post(std::forward<F>(fn));
    }

    std::vector<std::string> queue_names() const {
        std::vector<std::string> out;
        for (const auto& [queue, handler] : handlers_) out.push_back(queue);
        return out;
    }

    // Mesh thread, after edges_ changed.
    void edges_changed() {
        CallLink call;
        if (!edges_.empty()) {
            call.link = mesh_->link(*edges_.begin());
            const PeerInfo* edge = mesh_->members().find(*edges_.begin());
            call.batched = edge && (edge->reads & wire::Reads::Requests) == wire::Reads::Requests;
        }
        {
            std::lock_guard lock{call_link_mutex_};
            call_link_ = std::move(call);
        }
        {
            std::lock_guard lock{edges_mutex_};
            edge_count_ = edges_.size();
        }
        edges_changed_.notify_all();
    }

    CallLink call_link() {
        std::lock_guard lock{call_link_mutex_};
        return call_link_;
    }

    // An edge counts once it knows us: before that it would drop what we send it.
    void on_peer_up(const PeerInfo& peer) override { on_peer_changed(peer); }

    void on_peer_changed(const PeerInfo& peer) override {
        if (peer.role != wire::Role::Edge || !peer.knows_us) return;
        if (edges_.insert(peer.id).second) edges_changed();
    }

    void on_peer_down(const PeerInfo& peer) override {
        if (peer.role != wire::Role::Edge) return;
        edges_.erase(peer.id);
        std::erase_if(client_edge_, [&](const auto& entry) { return entry.second == peer.id; });
        edges_changed();
    }

    void on_deliver(const PeerInfo& from, const wire::Deliver& msg) override {
        if (from.role == wire::Role::Edge) {
            const std::string_view client = mesh::view(msg.client());
            auto known = client_edge_.find(client);
            if (known == client_edge_.end())
                client_edge_.emplace(client, from.id);
            else if (known->second != from.id)
                known->second = from.id;
        }
        auto it = handlers_.find(mesh::view(msg.queue()));
        if (it == handlers_.end()) {
            log::debug("node", "message for a queue this node no longer consumes: dropped");
            return;
        }
        Inbound& in = next_inbound();
        in.on_message = it->second;
        in.on_error = on_error_;
        Message& m = in.message;
        m.id = mesh::view(msg.id());
        m.queue = it->first;
        m.client = mesh::view(msg.client());
        m.user = mesh::view(msg.user());
        m.data = mesh::view(msg.data());
        m.created_ms = msg.created_ms();
        m.offset = msg.offset();
        m.receive_count = std::max<std::uint32_t>(msg.receive_count(), 1);
        if (msg.receive_count() > 0) in.edge = from.id;  // stored at the edge: ack it
    }

    // Mesh thread: a slot at the end of this drain's batch. The first of a drain queues the
    // task that hands the batch over; the mesh runs it once every waiting frame is read.
    Inbound& next_inbound() {
        if (inbound_.empty())
            mesh_->post([this] {
                handlers_thread_.post(
                    [this, batch = std::exchange(inbound_, {})]() mutable { run_inbound(batch); });
            });
        return inbound_.emplace_back();
    }

    // Handler thread: runs a batch's handlers in order. Acks go out in groups, at the latest
    // a few milliseconds after their handler returned, so slow handlers delay no ack much.
    void run_inbound(std::vector<Inbound>& batch) {
        using Clock = std::chrono::steady_clock;
        constexpr auto kAckDelay = std::chrono::milliseconds{5};
        constexpr std::size_t kAckGroup = 256;
        std::vector<std::pair<std::string, Message>> acks;  // edge, message
        auto last_sent = Clock::now();
        const auto send_acks = [&] {
            mesh_->post([this, acks = std::exchange(acks, {})] {
                auto& fbb = mesh_->builder();
                for (const auto& [edge, m] : acks) {
                    mesh::encode_ack(fbb, m.id, m.queue);
                    mesh_->send(edge, fbb);
                }
            });
            last_sent = Clock::now();
        };
        for (Inbound& in : batch) {
            if (handlers_thread_.stopping()) break;  // the rest comes again (unacked)
            if (!in.on_message) {
                run_guarded(in, [&] { in.on_client(in.client); });
                continue;
            }
            current_ = &in;
            const bool returned = run_guarded(in, [&] { (*in.on_message)(in.message); });
            current_ = nullptr;
            // Handled: the edge may forget it. Without this ack it comes again after the
            // queue's visibility timeout, to whichever node then owns the client. Not when
            // the handler threw (so it comes again) or took it for later (defer).
            if (returned && !in.deferred && !in.edge.empty())
                acks.emplace_back(std::move(in.edge), std::move(in.message));
            if (!acks.empty() && (acks.size() >= kAckGroup || Clock::now() - last_sent > kAckDelay))
                send_acks();
        }
        if (!acks.empty()) send_acks();
    }

    // Handler thread: runs one handler of in; false when it threw, which is logged and told
    // to the error hook. Nothing thrown leaves: the node goes on with the next message.
    template <class F>
    bool run_guarded(const Inbound& in, F&& handler) {
        std::exception_ptr thrown;
        try {
            handler();
            return true;
        } catch (...) {
            thrown = std::current_exception();
        }
        HandlerError error;
        error.exception = thrown;
        error.what = what_of(thrown);
        if (in.on_message) {
            error.source = HandlerError::Source::message;
            error.queue = in.message.queue;
            error.message_id = in.message.id;
            error.receive_count = in.message.receive_count;
            error.client = in.message.client;
            log::error("node", "the handler of queue " + error.queue + " threw on message " +
                                   error.message_id + " (receive " +
                                   std::to_string(error.receive_count) + "): " + error.what +
                                   (in.edge.empty() || in.deferred
                                        ? std::string{}
                                        : "; not acked, it comes again after the queue's "
                                          "visibility timeout"));
        } else {
            error.source = in.connected ? HandlerError::Source::connection
                                        : HandlerError::Source::disconnection;
            error.client = in.client.client;
            log::error("node", std::string{"the "} +
                                   (in.connected ? "connection" : "disconnection") +
                                   " handler threw for client " + error.client + ": " +
                                   error.what);
        }
        if (in.on_error) {
            try {
                (*in.on_error)(error);
            } catch (...) {
                log::error("node", "the error hook threw too: " +
                                       what_of(std::current_exception()) + " (ignored)");
            }
        }
        return false;
    }

    void on_response(const PeerInfo& from, const wire::Response& response) override {
        (void)from;
        if (response.code() != 0)
            finish_call(response.corr(), make_error(static_cast<Errc>(response.code()),
                                                    std::string{mesh::view(response.detail())}));
        else
            finish_call(response.corr(), std::string{mesh::view(response.result())});
    }

    // Wakes the caller waiting for corr with result; nothing if it timed out meanwhile.
    void finish_call(std::uint64_t corr, Result<std::string> result) {
        std::promise<Result<std::string>> answer;
        {
            std::lock_guard lock{calls_mutex_};
            auto it = calls_.find(corr);
            if (it == calls_.end()) return;
            answer = std::move(it->second);
            calls_.erase(it);
        }
        // Outside the lock: the caller this wakes often runs at once, and its next call must
        // not find the lock still held by this (preempted) thread.
        answer.set_value(std::move(result));
    }

    std::mutex calls_mutex_;  // guards calls_, next_corr_
    std::map<std::uint64_t, std::promise<Result<std::string>>> calls_;
    std::uint64_t next_corr_ = 1;

    // Calls are sent by the threads that make them, one thread at a time. A caller that
    // finds another one sending (typically preempted by the ZeroMQ I/O thread its send woke
    // up, while the callers woken by the same answers make their next calls) leaves its
    // request here and waits for its answer; the sender sends what it finds here before it
    // waits for its own, several in one frame when the edge reads them. No caller waits for
    // another's send, and a burst of calls costs the I/O threads one frame.
    struct OutgoingCall {
        std::uint64_t corr = 0;
        std::string op;
        std::string args;  // JSON
    };
    // Locks: calls_mutex_, send_mutex_, call_link_mutex_ and a Link's own mutex are never
    // held together (each is taken alone, for a few lines).
    std::mutex send_mutex_;  // guards sending_, queued_
    bool sending_ = false;   // a caller is sending; others queue
    std::vector<OutgoingCall> queued_;

    // The sending caller: sends what others queued until none is left, then stops sending.
    void send_queued(const CallLink& call) {
        constexpr std::size_t kFrameBytes = 1 << 20;  // far below a receiver's 16 MiB cap
        flatbuffers::FlatBufferBuilder fbb;
        std::vector<OutgoingCall> calls;
        std::vector<mesh::RequestFields> frame;
        for (;;) {
            calls.clear();
            {
                std::lock_guard lock{send_mutex_};
                if (queued_.empty()) {
                    sending_ = false;
                    return;
                }
                calls.swap(queued_);
            }
            std::size_t first = 0;  // calls[first..] not sent yet
            std::size_t bytes = 0;
            auto send_frame = [&](std::size_t end) {
                if (frame.size() == 1)
                    mesh::encode_request(fbb, frame[0].corr, frame[0].op, frame[0].args);
                else
                    mesh::encode_requests(fbb, frame);
                if (!call.link->send(fbb))
                    for (std::size_t i = first; i < end; ++i)
                        finish_call(calls[i].corr, make_error(Errc::no_edge));
                frame.clear();
                bytes = 0;
                first = end;
            };
            for (std::size_t i = 0; i < calls.size(); ++i) {
                const std::size_t size = calls[i].op.size() + calls[i].args.size() + 64;
                if (!frame.empty() && (!call.batched || bytes + size > kFrameBytes)) send_frame(i);
                frame.push_back({calls[i].corr, calls[i].op, calls[i].args});
                bytes += size;
            }
            if (!frame.empty()) send_frame(calls.size());
        }
    }

    void on_client_event(const PeerInfo& from, const wire::ClientEvent& event) override {
        ClientEvent e;
        e.client = mesh::view(event.client());
        e.user = mesh::view(event.user());
        e.resumed = event.resumed();
        ClientHandler handler;
        if (event.kind() == wire::ClientEventKind::Connected) {
            client_edge_[e.client] = from.id;
            handler = on_connection_;
        } else {
            auto it = client_edge_.find(e.client);
            if (it != client_edge_.end() && it->second == from.id) client_edge_.erase(it);
            handler = on_disconnection_;
        }
        if (!handler) return;
        Inbound& in = next_inbound();  // after the messages read before it
        in.on_client = std::move(handler);
        in.client = std::move(e);
        in.connected = event.kind() == wire::ClientEventKind::Connected;
        in.on_error = on_error_;
    }

    // Mesh thread: one client through the edge that holds it, or every edge when unknown;
    // a user's sessions (to_user) and fan-outs through every edge.
    void send_produce(const std::string& id, const std::string& queue, const std::string& data,
                      const std::string& to, const std::string& to_user,
                      std::int64_t deliver_at_ms) {
        auto& fbb = mesh_->builder();
        mesh::encode_deliver(fbb, {.id = id,
                                   .queue = queue,
                                   .client = to,
                                   .data = data,
                                   .created_ms = now_ms(),
                                   .fanout = to.empty() && to_user.empty(),
                                   .deliver_at_ms = deliver_at_ms,
                                   .user = to_user});
        if (!to.empty()) {
            auto it = client_edge_.find(to);
            if (it != client_edge_.end() && mesh_->send(it->second, fbb)) return;
        }
        for (const auto& edge : edges_) mesh_->send(edge, fbb);
    }
};

Node::Node(NodeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Node::~Node() {
    if (impl_->handlers_thread_.on_this_thread()) {
        // The handler that runs this would return into a node that is gone.
        log::error("node", "a Node was destroyed from inside one of its own handlers: call "
                           "stop() there and destroy the Node on another thread");
        std::abort();
    }
    stop();
}

Status Node::consume(std::string queue, MessageHandler handler) {
    if (!is_valid_queue_name(queue)) return make_error(Errc::bad_queue, queue);
    assert(handler && "consume needs a handler");
    impl_->on_thread([impl = impl_.get(), queue = std::move(queue), handler = std::move(handler)] {
        impl->handlers_[queue] = std::make_shared<const MessageHandler>(handler);
        if (impl->mesh_) impl->mesh_->set_queues(impl->queue_names());
    });
    return {};
}

void Node::unconsume(const std::string& queue) {
    impl_->on_thread([impl = impl_.get(), queue] {
        impl->handlers_.erase(queue);
        if (impl->mesh_) impl->mesh_->set_queues(impl->queue_names());
    });
}

void Node::on_connection(ClientHandler handler) {
    impl_->on_thread(
        [impl = impl_.get(), handler = std::move(handler)] { impl->on_connection_ = handler; });
}

void Node::on_disconnection(ClientHandler handler) {
    impl_->on_thread(
        [impl = impl_.get(), handler = std::move(handler)] { impl->on_disconnection_ = handler; });
}

void Node::on_error(ErrorHandler handler) {
    impl_->on_thread([impl = impl_.get(), handler = std::move(handler)] {
        impl->on_error_ =
            handler ? std::make_shared<const ErrorHandler>(std::move(handler)) : nullptr;
    });
}

Delivery Node::defer(const Message& m) {
    Impl::Inbound* in = impl_->handlers_thread_.on_this_thread() ? impl_->current_ : nullptr;
    if (!in || in->message.id != m.id || in->message.queue != m.queue) {
        assert(!"Node::defer outside the handler of that message");
        log::error("node", "defer(message " + m.id + " of " + m.queue +
                               ") outside its handler: ignored, its handler's return acks it");
        return {};
    }
    if (in->deferred) return {};
    in->deferred = true;
    Delivery delivery;
    if (!in->edge.empty())  // else at-most-once: nothing to ack
        delivery.target_ = std::make_shared<Delivery::Target>(
            Delivery::Target{impl_->ack_channel_, in->edge, m.id, m.queue});
    return delivery;
}

Status Node::start() {
    assert(!impl_->started() && "Node::start called twice");
    const NodeOptions& o = impl_->options_;
    if (!o.env_error.empty()) return make_error(Errc::bad_option, o.env_error);
    mesh::MeshOptions m;
    m.bind = o.bind;
    m.advertise = o.advertise;
    m.seeds = o.seeds;
    if (m.seeds.empty() && o.beacon_interface.empty()) m.seeds = {"tcp://127.0.0.1:7700"};
    m.beacon_interface = o.beacon_interface;
    m.beacon_port = o.beacon_port;
    m.role = o.tool ? wire::Role::Tool : wire::Role::Node;
    m.name = o.name;
    m.heartbeat = o.heartbeat;
    m.peer_timeout = o.peer_timeout;
    m.key_file = o.mesh_key;
    m.secret_key = o.mesh_secret;
    m.allow_file = o.mesh_allow;
    // Everything the mesh thread may touch is in place before it starts.
    impl_->mesh_ = std::make_unique<mesh::Mesh>(std::move(m), *impl_);
    impl_->mesh_->set_queues(impl_->queue_names());
    impl_->ack_channel_ = std::make_shared<AckChannel>(*impl_->mesh_);
    impl_->handlers_thread_.start();
    if (auto started = impl_->mesh_->start(); !started) {
        impl_->handlers_thread_.stop();
        impl_->ack_channel_->close();
        impl_->mesh_.reset();
        return started;
    }
    return {};
}

void Node::stop() {
    // From a handler: no lock, since a stop() from another thread may hold it while it
    // joins this very thread. That one calls Mesh::stop only after the join, so the two
    // never stop the mesh at once.
    std::unique_lock lock{impl_->stop_mutex_, std::defer_lock};
    if (!impl_->handlers_thread_.on_this_thread()) lock.lock();
    impl_->handlers_thread_.stop();
    if (impl_->ack_channel_) impl_->ack_channel_->close();
    if (impl_->mesh_) impl_->mesh_->stop();
}

Result<std::string> Node::produce(std::string_view queue, std::string_view data,
                                  const ProduceOptions& options) {
    if (!impl_->started()) return make_error(Errc::not_started);
    if (!is_valid_queue_name(queue)) return make_error(Errc::bad_queue, std::string{queue});
    if (!json::is_valid(data)) return make_error(Errc::bad_data);
    constexpr std::int64_t kYearMs = 365LL * 24 * 3600 * 1000;
    if (options.delay.count() < 0 || options.delay.count() > kYearMs || options.deliver_at_ms < 0)
        return make_error(Errc::bad_timeout,
                          "delay must be 0 to 365 days, deliver_at_ms not negative");
    if (options.delay.count() > 0 && options.deliver_at_ms > 0)
        return make_error(Errc::bad_timeout, "give delay or deliver_at_ms, not both");
    if (!options.to.empty() && !options.to_user.empty())
        return make_error(Errc::bad_option, "give to (one client) or to_user (a user), not both");
    {
        std::lock_guard lock{impl_->edges_mutex_};
        if (impl_->edge_count_ == 0) return make_error(Errc::no_edge);
    }
    const std::int64_t deliver_at =
        options.delay.count() > 0 ? now_ms() + options.delay.count() : options.deliver_at_ms;
    std::string id = new_message_id();
    if (options.confirm) {
        std::string args = "{\"id\":" + json::quote(id) + ",\"queue\":" + json::quote(queue) +
                           ",\"data\":" + std::string{data};
        if (!options.to.empty()) args += ",\"to\":" + json::quote(options.to);
        if (!options.to_user.empty()) args += ",\"toUser\":" + json::quote(options.to_user);
        if (deliver_at > 0) args += ",\"deliverAt\":" + std::to_string(deliver_at);
        args += "}";
        auto stored = call("produce", args);
        if (!stored) return stored.error();
        return id;
    }
    impl_->on_thread([impl = impl_.get(), id, q = std::string{queue}, d = std::string{data},
                      to = options.to, to_user = options.to_user,
                      deliver_at] { impl->send_produce(id, q, d, to, to_user, deliver_at); });
    return id;
}

Result<std::string> Node::call(std::string_view op, std::string_view args_json,
                               std::chrono::milliseconds timeout) {
    if (!impl_->started()) return make_error(Errc::not_started);
    if (impl_->mesh_->on_mesh_thread())
        return make_error(
            Errc::not_allowed,
            "a call waits for the edge's answer, which arrives on the node's mesh "
            "thread: call from a handler or your own thread, not from the mesh thread");
    const auto call = impl_->call_link();
    if (!call.link) return make_error(Errc::no_edge);
    std::future<Result<std::string>> answer;
    std::uint64_t corr = 0;
    {
        std::lock_guard lock{impl_->calls_mutex_};
        corr = impl_->next_corr_++;
        answer = impl_->calls_[corr].get_future();
    }
    bool sender = false;  // this thread sends (its own call, then what others queue)
    {
        std::lock_guard lock{impl_->send_mutex_};
        sender = !impl_->sending_;
        if (sender)
            impl_->sending_ = true;
        else
            impl_->queued_.push_back({corr, std::string{op}, std::string{args_json}});
    }
    if (sender) {
        flatbuffers::FlatBufferBuilder fbb{op.size() + args_json.size() + 128};
        mesh::encode_request(fbb, corr, op, args_json);
        const bool sent = call.link->send(fbb);
        impl_->send_queued(call);
        if (!sent) {
            std::lock_guard lock{impl_->calls_mutex_};
            impl_->calls_.erase(corr);
            return make_error(Errc::no_edge);
        }
    }
    if (answer.wait_for(timeout) != std::future_status::ready) {
        std::lock_guard lock{impl_->calls_mutex_};
        impl_->calls_.erase(corr);
        return make_error(Errc::timed_out, std::string{op} + " got no answer within " +
                                               std::to_string(timeout.count()) + " ms");
    }
    return answer.get();
}

Status Node::cancel(std::string_view id) {
    auto result = call("cancel", "{\"id\":" + json::quote(id) + "}");
    if (!result) return result.error();
    return {};
}

Result<FetchResult> Node::fetch(std::string_view queue, const FetchOptions& options) {
    std::string args =
        "{\"queue\":" + json::quote(queue) + ",\"limit\":" + std::to_string(options.limit);
    if (options.since_ms > 0)
        args += ",\"since\":" + std::to_string(options.since_ms);
    else
        args += ",\"from\":" + std::to_string(options.from);
    args += "}";
    auto result = call("fetch", args);
    if (!result) return result.error();
    auto object = json::ObjectView::parse(*result);
    if (!object) return object.error();
    FetchResult out;
    out.next = object->integer("next").value_or(0);
    auto elements = json::array_elements(object->raw("messages").value_or("[]"));
    if (!elements) return elements.error();
    for (std::string_view element : *elements) {
        auto m = json::ObjectView::parse(element);
        if (!m) return m.error();
        out.messages.push_back({m->string("id").value_or(""), m->integer("offset").value_or(0),
                                m->string("client").value_or(""),
                                std::string{m->raw("data").value_or("null")},
                                m->integer("ts").value_or(0)});
    }
    return out;
}

bool Node::wait_for_edges(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock{impl_->edges_mutex_};
    return impl_->edges_changed_.wait_for(lock, timeout,
                                          [&] { return impl_->edge_count_ >= count; });
}

std::vector<PeerSummary> Node::peers() const {
    auto snapshot = [impl = impl_.get()] {
        std::vector<PeerSummary> out;
        if (!impl->mesh_) return out;
        for (const auto& [id, peer] : impl->mesh_->members().peers())
            out.push_back({peer.id, peer.name, peer.endpoint, std::string{role_name(peer.role)},
                           peer.queues});
        return out;
    };
    if (!impl_->mesh_ || impl_->mesh_->on_mesh_thread()) return snapshot();
    auto promise = std::make_shared<std::promise<std::vector<PeerSummary>>>();
    auto future = promise->get_future();
    impl_->mesh_->post([promise, snapshot] { promise->set_value(snapshot()); });
    if (future.wait_for(std::chrono::seconds{5}) != std::future_status::ready) return {};
    return future.get();
}

std::string Node::id() const {
    return impl_->mesh_ ? impl_->mesh_->id() : std::string{};
}
std::string Node::endpoint() const {
    return impl_->mesh_ ? impl_->mesh_->endpoint() : std::string{};
}

namespace {
int g_signal_fd = -1;  // eventfd written by the handler
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_termination(int sig) {
    g_signal = sig;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(g_signal_fd, &one, sizeof one);
}
}  // namespace

int wait_for_signal() {
    if (g_signal_fd < 0) g_signal_fd = eventfd(0, EFD_CLOEXEC);
    struct sigaction action {};
    action.sa_handler = on_termination;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    std::uint64_t count = 0;
    while (::read(g_signal_fd, &count, sizeof count) < 0 && errno == EINTR) {
    }
    return g_signal;
}

}  // namespace adashta
