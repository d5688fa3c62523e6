// The edge's Router (edge/src/router.cpp) behind the mesh: a fresh edge per input — a real
// Router, a real Store (SQLite in a folder under /dev/shm, its thread running as in the
// edge) and a Mesh that never starts (mesh_harness.hpp: frames go to Mesh::receive, the
// entry the mesh thread's drain_router uses, and every reply lands in a loopback sink) —
// then the steps of router_harness.hpp: mesh frames from fake server nodes and another
// edge, and the browser-side calls (produce, fetch, replay, connect...) that give them
// messages to ack and sessions to deliver to. This thread plays the mesh thread: it runs
// the tasks the Router posts, and after each step waits (bounded) until the store and the
// mesh have nothing left to do, so every answer of a step is in before the next one.
//
// The peers read what the edge sent them only at an ack step, a retry step with its flag,
// and the end; until then 16 frames fill a peer's queue and sends to it fail, as to a
// node that does not keep up (the edge then tries the next node, parks or releases).
//
// Findings: crashes, leaks, sanitizer reports; a frame the edge sends that does not verify;
// a message to browsers whose data is not JSON or whose queue name is not valid; a produce
// answered twice, with another cost than it holds, or never (unless it waits for room); the
// store or the mesh not settling within 5 s.
//
// Router entry points it calls: the MeshHandler ones through Mesh::receive (on_peer_up,
// on_peer_changed, on_peer_down, on_deliver, on_ack, on_request), on_retry, and produce,
// fetch, replay, where, client_connected, client_disconnected, sessions_expired,
// admin_snapshot and settle; the store calls on_due, on_scheduled, on_dead_lettered and
// on_round_end itself.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "adashta/ids.hpp"
#include "adashta/json.hpp"
#include "adashta/log.hpp"
#include "adashta/names.hpp"
#include "adashta/store/store.hpp"
#include "check.hpp"
#include "mesh_harness.hpp"
#include "router.hpp"
#include "router_harness.hpp"

namespace fs = std::filesystem;
using namespace adashta;
using fuzz::RouterOp;
using fuzz::RouterStep;

namespace {
fs::path g_dir;  // the store's folder, emptied for every input
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    log::set_level(log::Level::error);  // the Router warns about every bad message at warn
    g_dir = fs::path{fs::exists("/dev/shm") ? "/dev/shm" : fs::temp_directory_path()} /
            ("adashta-fuzz-router-" + std::to_string(::getpid()));
    std::atexit([] {
        std::error_code ec;
        fs::remove_all(g_dir, ec);
    });
    return 0;
}

namespace {

// Queue settings of the store (as an edge's config file gives them) that take the Router
// down other paths: schedules from clients, redelivery and dead letters, small limits, and
// an at-most-once queue the Router forwards without the store.
std::map<std::string, store::QueueSettings> stored_queues() {
    std::map<std::string, store::QueueSettings> q;
    q["sched"].client_schedule = true;
    q["redo"].visibility_ms = 0;  // due again at once: redelivered, then dead-lettered
    q["redo"].max_receive = 2;
    q["redo"].dead_letter = "redo.dead";
    q["tiny"].max_message_bytes = 64;
    q["tiny"].max_messages = 3;  // older messages go: replays see a gap
    return q;
}
std::unordered_map<std::string, store::QueueSettings> at_most_once_queues() {
    store::QueueSettings live;
    live.durable = false;
    live.max_message_bytes = 256;
    return {{"live", live}};
}

// What goes to browsers: checked as the HTTP thread would rely on it, counted.
class RecordingSink final : public edge::ClientSink {
public:
    static std::size_t cost_of(std::uint64_t produce) { return 100 + produce; }

    void push(edge::ClientBound&& e) override {
        using Kind = edge::ClientBound::Kind;
        std::lock_guard lock{mutex_};
        switch (e.kind) {
            case Kind::direct:
            case Kind::fanout:
            case Kind::user:
                // Spliced into browser frames as they are.
                FUZZ_CHECK(json::is_valid(e.data));
                FUZZ_CHECK(is_valid_queue_name(e.queue));
                // For the user the node named, whatever the name looks like.
                if (auto it = users_.find(e.id); e.kind == Kind::user && it != users_.end())
                    FUZZ_CHECK(it->second.contains(e.user));
                break;
            case Kind::fetched:
            case Kind::replay:
                for (const auto& m : e.messages) FUZZ_CHECK(json::is_valid(m.data));
                break;
            case Kind::ack:
            case Kind::error:
                if (e.produced != 0) answered(e.connection, e.produced);
                break;
            case Kind::admin:
                FUZZ_CHECK(e.admin != nullptr);
                break;
        }
        fuzz::touch(e.detail);
    }
    void handed_on(std::vector<edge::HandedOn>&& produces) override {
        std::lock_guard lock{mutex_};
        for (const auto& p : produces) answered(p.connection, p.cost);
    }
    std::uint64_t answers() {
        std::lock_guard lock{mutex_};
        return answers_;
    }
    std::uint64_t next_produce() { return ++produces_; }
    // A node sent message id for every session of user.
    void expect_user(std::string id, std::string user) {
        std::lock_guard lock{mutex_};
        users_[std::move(id)].insert(std::move(user));
    }
    std::uint64_t produces() const { return produces_; }

private:
    // Every produce is answered once, carrying back the cost it holds of the budgets.
    void answered(std::uint64_t connection, std::size_t cost) {
        FUZZ_CHECK(connection >= 1 && connection <= produces_);
        FUZZ_CHECK(cost == cost_of(connection));
        FUZZ_CHECK(answered_.insert(connection).second);
        ++answers_;
    }

    std::mutex mutex_;  // the mesh and store threads push
    std::set<std::uint64_t> answered_;
    std::map<std::string, std::set<std::string>> users_;  // message id -> users it may be for
    std::uint64_t answers_ = 0;
    std::atomic<std::uint64_t> produces_{0};  // connection ids of produces: 1, 2, ...
};

class RouterWorld {
public:
    RouterWorld() : router_{sink_} {
        std::error_code ec;
        fs::remove_all(g_dir, ec);
        fs::create_directories(g_dir);
        auto opened = store::Store::open(
            {.path = (g_dir / "store.db").string(), .queues = stored_queues()}, router_);
        if (!opened) {
            std::fprintf(stderr, "fuzz_router: %s\n", opened.error().to_string().c_str());
            std::abort();
        }
        store_ = std::move(*opened);
        mesh::MeshOptions options;
        options.name = "fuzz-edge";
        options.role = wire::Role::Edge;
        // Peers read what the edge sent them only when a step says so: until then, each
        // takes kPeerQueue frames, and then the edge's sends to it fail.
        options.limits.high_water_mark = kPeerQueue / 2;
        mesh_ = std::make_unique<mesh::Mesh>(std::move(options), router_);
        out_ = std::make_unique<fuzz::LoopbackSink>(*mesh_, kPeerQueue / 2);
        router_.attach(*mesh_, *store_, at_most_once_queues());
        mesh::MeshFuzzAccess::open_tasks(*mesh_);
        store_->start();
    }
    RouterWorld(const RouterWorld&) = delete;
    RouterWorld& operator=(const RouterWorld&) = delete;

    // As the edge stops: the mesh takes no more, the store finishes what it has (its answers
    // go out over Links still open), then the Links close and the mesh goes.
    ~RouterWorld() {
        store_.reset();
        mesh::MeshFuzzAccess::close_tasks(*mesh_);
        out_->drain();
        out_.reset();
        mesh_.reset();
    }

    void join(std::size_t peer) {
        flatbuffers::FlatBufferBuilder fbb;
        fuzz::encode_router_peer_hello(fbb, peer);
        frame(static_cast<std::uint8_t>(peer),
              {reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()});
    }

    void apply(const RouterStep& step) {
        const std::string session = fuzz::router_session(step.peer);
        switch (step.op) {
            case RouterOp::frame:
                frame(step.peer, step.bytes);
                break;
            case RouterOp::produce:
                produce(step, session);
                break;
            case RouterOp::connect:
                router_.client_connected(session, std::string{step.bytes}, step.flag);
                break;
            case RouterOp::disconnect:
                router_.client_disconnected(session);
                break;
            case RouterOp::fetch: {
                edge::ClientFetch f{.connection = kOther,
                                    .ref = 1,
                                    .session = session,
                                    .queue = std::string{step.bytes},
                                    .limit = 50,
                                    .max_bytes = 1 << 16};
                if (step.flag)
                    f.since_ms = now_ms() - 60'000;
                else
                    f.from = 1;
                router_.fetch(std::move(f));
                break;
            }
            case RouterOp::replay:
                router_.replay(kOther, session, {}, std::string{step.bytes}, 1, 4096, 7);
                break;
            case RouterOp::where:
                router_.where(kOther, 2, std::string{step.bytes});
                break;
            case RouterOp::ack:
                ack(step);
                break;
            case RouterOp::retry:
                if (step.flag) drain();
                mesh::MeshFuzzAccess::run_retry(*mesh_);
                break;
            case RouterOp::admin:
                router_.admin_snapshot(std::make_shared<edge::AdminSnapshot>());
                break;
            case RouterOp::expire:
                router_.sessions_expired({session});
                break;
        }
        settle_step();
    }

    // The drain at the end, as the edge runs it before it stops (Router::settle: waiting
    // receives answer now), then what must hold of the browsers' answers.
    void finish() {
        bool done = false;
        router_.settle([&done] { done = true; });
        FUZZ_CHECK(pump_until(done));
        drain();
        const std::uint64_t waiting = router_.stats().waiting;
        FUZZ_CHECK(sink_.answers() + waiting == sink_.produces());
    }

private:
    static constexpr std::uint64_t kOther = std::uint64_t{1} << 40;  // not a produce's id
    static constexpr int kPeerQueue = 16;  // frames a peer takes before it reads them

    void frame(std::uint8_t peer, std::string_view bytes) {
        // A node's message for a user, under its own id: who must get it.
        std::vector<std::uint64_t> aligned((bytes.size() + 7) / 8);
        if (!bytes.empty()) std::memcpy(aligned.data(), bytes.data(), bytes.size());
        if (const auto* env = mesh::open_envelope(aligned.data(), bytes.size()))
            if (const auto* d = env->body_as_Deliver();
                d && !d->fanout() && mesh::view(d->client()).empty() &&
                !mesh::view(d->user()).empty() && !mesh::view(d->id()).empty())
                sink_.expect_user(std::string{mesh::view(d->id())},
                                  std::string{mesh::view(d->user())});
        fuzz::LoopbackMesh::receive_into(*mesh_, fuzz::kSenders[peer], "", bytes);
    }

    void produce(const RouterStep& step, const std::string& session) {
        // "queue\0id\0data"; what is missing is empty.
        std::string_view rest = step.bytes;
        auto field = [&rest] {
            const auto end = rest.find('\0');
            const std::string_view f = rest.substr(0, end);
            rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
            return std::string{f};
        };
        edge::ClientProduce p;
        p.connection = sink_.next_produce();
        p.cost = RecordingSink::cost_of(p.connection);
        if (step.flag) p.ref = p.connection;
        p.session = session;
        p.queue = field();
        p.id = field();
        p.data = std::string{rest};
        // What the HTTP thread checked before (protocol.cpp): a valid queue, an id of 8-64
        // of A-Za-z0-9_-, JSON data.
        if (!is_valid_queue_name(p.queue) || !json::is_valid(p.data) ||
            (!p.id.empty() && !is_valid_message_id(p.id))) {
            p.queue = "orders";
            p.id.clear();
            p.data = "null";
        }
        if (step.scheduled) p.delay_ms = 1000;
        router_.produce({std::move(p)});
    }

    // The peer acks the n-th message the edge delivered to the peers, as its SDK would.
    void ack(const RouterStep& step) {
        drain();  // the peers read what came
        if (delivered_.empty()) return;
        const std::size_t n =
            step.bytes.empty() ? 0 : static_cast<std::uint8_t>(step.bytes[0]) % delivered_.size();
        flatbuffers::FlatBufferBuilder fbb;
        mesh::encode_ack(fbb, delivered_[n].first, delivered_[n].second);
        frame(step.peer, {reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()});
    }

    // Runs the mesh's tasks and reads what it sent until done is set; false after 5 s.
    bool pump_until(const bool& done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
        for (;;) {
            ran_ += mesh::MeshFuzzAccess::run_tasks(*mesh_);
            if (done) return true;
            if (std::chrono::steady_clock::now() > deadline) return false;
            pollfd wake{mesh::MeshFuzzAccess::wake_fd(*mesh_), POLLIN, 0};
            (void)::poll(&wake, 1, 1);
        }
    }

    // After a step: rounds of "run the mesh's tasks, then wait for a store round" until a
    // round finds nothing to do (or 8 rounds: a message no node takes comes back every
    // 500 ms for as long as it lives).
    void settle_step() {
        for (int round = 0; round < 8; ++round) {
            ran_ = mesh::MeshFuzzAccess::run_tasks(*mesh_);
            bool done = false;
            store_->write([](store::Tx&) { return Status{}; },
                          [this, &done](const Status&) {
                              // The next round: after the reads and timers of this one.
                              store_->after(std::chrono::milliseconds{0}, [this, &done] {
                                  mesh_->post([&done] { done = true; });
                              });
                          },
                          store::Atomic::ordered);
            FUZZ_CHECK(pump_until(done));
            if (ran_ <= 1) return;  // only the task that said done
        }
    }

    void drain() {
        out_->drain([this](const wire::Envelope& env) {
            if (const auto* d = env.body_as_Deliver(); d && d->receive_count() > 0 &&
                                                       delivered_.size() < 256)
                delivered_.emplace_back(mesh::view(d->id()), mesh::view(d->queue()));
        });
    }

    RecordingSink sink_;
    edge::Router router_;                      // answers into sink_
    std::unique_ptr<store::Store> store_;      // calls router_ on its thread
    std::unique_ptr<mesh::Mesh> mesh_;         // calls router_ on this thread
    std::unique_ptr<fuzz::LoopbackSink> out_;  // in mesh_'s context: goes first
    std::vector<std::pair<std::string, std::string>> delivered_;  // id, queue: to ack
    std::size_t ran_ = 0;  // mesh tasks run in this round
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view in{reinterpret_cast<const char*>(data), size};
    RouterWorld world;
    for (std::size_t peer = 0; peer < fuzz::router_peers().size(); ++peer)
        if ((static_cast<std::uint8_t>(in[0]) >> peer) & 1) world.join(peer);
    for (const RouterStep& step : fuzz::split_router_steps(in.substr(1))) world.apply(step);
    world.finish();
    return 0;
}
