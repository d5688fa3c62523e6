// A Mesh that never starts, for fuzzing its receive path: frames and beacons go straight to
// the code drain_router() and drain_beacon() run (Mesh::receive, Mesh::hear), on the
// calling thread, and every DEALER the mesh makes to answer dials one inproc ROUTER in the
// mesh's own context (the loopback sink) instead of the endpoint a peer named. So nothing
// leaves the process, and every reply the mesh sends is read back and verified.
//
//   LoopbackMesh mesh{LoopbackMesh::Security::curve};
//   mesh.receive(kSenders[0], kKeys[0], frame.data(), frame.size());
//   mesh.drain_sink();  // aborts if the mesh sent a frame its own verifier refuses
//
// Also the input format both fuzz_mesh and make_corpus speak (see split_records).
//
// Thread: all of it on the fuzzer's one thread; the Mesh's thread never runs.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <sys/eventfd.h>
#include <unistd.h>

#include "adashta/json.hpp"
#include "adashta/mesh/codec.hpp"
#include "adashta/mesh/keys.hpp"
#include "adashta/mesh/mesh.hpp"

namespace adashta::mesh {

// The Mesh's private receive path, opened for the fuzz targets only (mesh.hpp befriends it).
struct MeshFuzzAccess {
    static void receive(Mesh& mesh, std::string_view from, const void* bytes, std::size_t size,
                        std::string_view key) {
        mesh.receive(from, bytes, size, Clock::now(), key);
    }
    static void hear(Mesh& mesh, const Beacon::Heard& heard) { mesh.hear(heard); }
    // What the mesh's tick does with the candidates it has: say Hello to each.
    static void dial_wanted(Mesh& mesh) { mesh.dial_unreached(); }
    static zmq::context_t& context(Mesh& mesh) { return mesh.ctx_; }
    // What start() would have set: the advertised endpoint, and where DEALERs really dial.
    static void prepare(Mesh& mesh, std::string endpoint, std::string dial_instead) {
        mesh.endpoint_ = std::move(endpoint);
        mesh.dial_instead_ = std::move(dial_instead);
    }
    static void secure(Mesh& mesh, KeyPair pair, AllowList allowed) {
        mesh.curve_ = std::move(pair);
        mesh.allowed_ = std::move(allowed);
    }

    // The task queue without the thread, for handlers that post to the mesh (the edge's
    // Router, the SDK's Node): open_tasks() makes post() take tasks as after start(), the
    // caller then plays the mesh thread with run_tasks(), and close_tasks() ends it (the
    // mesh's stop() only does that part when its thread ran).
    static void open_tasks(Mesh& mesh) {
        mesh.wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        std::lock_guard lock{mesh.tasks_mutex_};
        mesh.accepting_ = true;
    }
    // Runs the tasks posted so far, as the mesh thread's drain_tasks() does; how many there
    // were (0: none).
    static std::size_t run_tasks(Mesh& mesh) {
        std::size_t count = 0;
        {
            std::lock_guard lock{mesh.tasks_mutex_};
            count = mesh.tasks_.size();
        }
        if (count != 0) mesh.drain_tasks();
        return count;
    }
    // Readable when tasks were posted (what the mesh thread polls).
    static int wake_fd(const Mesh& mesh) { return mesh.wake_fd_; }
    // What the mesh thread does once retry_soon()'s millisecond has passed; false when no
    // retry was asked for.
    static bool run_retry(Mesh& mesh) {
        if (!mesh.retry_at_) return false;
        mesh.retry_at_.reset();
        mesh.handler_.on_retry();
        return true;
    }
    // The end of stop(): no more tasks, every Link closed (copies held elsewhere only fail
    // their sends, so the context can end), the eventfd closed.
    static void close_tasks(Mesh& mesh) {
        std::vector<std::function<void()>> dropped;  // destroyed outside the lock
        {
            std::lock_guard lock{mesh.tasks_mutex_};
            mesh.accepting_ = false;
            dropped.swap(mesh.tasks_);
        }
        for (auto& [endpoint, dealer] : mesh.dealers_) dealer->close();
        mesh.dealers_.clear();
        if (mesh.wake_fd_ >= 0) ::close(mesh.wake_fd_);
        mesh.wake_fd_ = -1;
    }
};

}  // namespace adashta::mesh

namespace adashta::fuzz {

// Routing ids frames come from (a ROUTER never reports an empty one). 32 hex characters,
// like real node ids, so a Hello naming one of them is taken in.
inline constexpr std::array<std::string_view, 4> kSenders{
    "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210",
    "00000000000000000000000000000000", "not-a-hex-id"};
// CURVE public keys frames can come with (the User-Id ZAP would give them). The first two
// are in the allow-list (edge+node, node only), the third is not; index 3 is "no key".
inline constexpr std::array<std::string_view, 4> kKeys{
    "n?n$[Qt*kWDVU@w1awRi>Wu:Iz)Lq%3B77eO}.L%", "Dw(gokVaPZQ(Hf#3IBmako5tix{0[@M$v)Z5azFX",
    "KcWTea!fU3w.$[QbHGwha3ZA#?<qM*Y>V2*s@@?u", ""};
inline constexpr std::string_view kAllowList =
    "n?n$[Qt*kWDVU@w1awRi>Wu:Iz)Lq%3B77eO}.L% edge,node tcp://127.0.0.1:7801 # peer a\n"
    "Dw(gokVaPZQ(Hf#3IBmako5tix{0[@M$v)Z5azFX node # peer b\n";
inline constexpr std::string_view kOwnEndpoint = "tcp://127.0.0.1:7800";

// Input of fuzz_mesh: one byte of mode (bit 0: the mesh runs with CURVE), then records
//   [who: 1 byte: bits 0-1 the sender (kSenders), bits 2-3 its key (kKeys), bit 4: the
//    frame's bytes start at an odd address, as ZeroMQ's small messages may]
//   [size: 2 bytes, little-endian] [size bytes of frame]
// A last record that claims more bytes than are left takes what is left.
struct Record {
    std::uint8_t sender = 0;
    std::uint8_t key = 0;
    bool misaligned = false;
    std::string_view frame;
};

inline std::vector<Record> split_records(std::string_view in) {
    std::vector<Record> out;
    while (in.size() >= 3) {
        const auto who = static_cast<std::uint8_t>(in[0]);
        std::size_t size = static_cast<std::uint8_t>(in[1]) |
                           static_cast<std::size_t>(static_cast<std::uint8_t>(in[2])) << 8;
        in.remove_prefix(3);
        if (size > in.size()) size = in.size();
        out.push_back({static_cast<std::uint8_t>(who & 3),
                       static_cast<std::uint8_t>((who >> 2) & 3), ((who >> 4) & 1) != 0,
                       in.substr(0, size)});
        in.remove_prefix(size);
    }
    return out;
}

inline void append_record(std::string& out, std::uint8_t sender, std::uint8_t key,
                          std::string_view frame, bool misaligned = false) {
    out += static_cast<char>((sender & 3) | (key & 3) << 2 | (misaligned ? 0x10 : 0));
    out += static_cast<char>(frame.size() & 0xFF);
    out += static_cast<char>((frame.size() >> 8) & 0xFF);
    out += frame;
}

// Reads every byte of what it is given, so ASan sees any read the verifier let past the end
// of the buffer; the sum keeps the reads from being optimised away.
inline volatile std::uint64_t g_touched = 0;
inline void touch(std::string_view bytes) {
    std::uint64_t sum = 0;
    for (char c : bytes) sum += static_cast<unsigned char>(c);
    g_touched = g_touched + sum;
}

// What an application does with what the mesh hands it: reads every field, and checks data
// the way the edge does.
class ReadingHandler : public mesh::MeshHandler {
public:
    void on_peer_up(const mesh::PeerInfo& peer) override { read(peer); }
    void on_peer_down(const mesh::PeerInfo& peer) override { read(peer); }
    void on_peer_changed(const mesh::PeerInfo& peer) override { read(peer); }
    void on_deliver(const mesh::PeerInfo& from, const wire::Deliver& msg) override {
        read(from);
        touch(mesh::view(msg.id()));
        touch(mesh::view(msg.queue()));
        touch(mesh::view(msg.client()));
        touch(mesh::view(msg.user()));
        const std::string_view data = mesh::view(msg.data());
        touch(data);
        (void)json::is_valid(data);
        if (const auto* headers = msg.headers())
            for (const wire::Header* header : *headers) {
                touch(mesh::view(header->key()));
                touch(mesh::view(header->value()));
            }
        g_touched = g_touched + static_cast<std::uint64_t>(msg.created_ms() + msg.offset() +
                                                           msg.deliver_at_ms()) +
                    msg.receive_count() + msg.fanout();
    }
    void on_ack(const mesh::PeerInfo& from, const wire::Ack& ack) override {
        read(from);
        touch(mesh::view(ack.id()));
        touch(mesh::view(ack.queue()));
    }
    void on_request(const mesh::PeerInfo& from, const wire::Request& request) override {
        read(from);
        touch(mesh::view(request.op()));
        const std::string_view args = mesh::view(request.args());
        if (auto obj = json::ObjectView::parse(args))
            for (const auto& [key, value] : obj->members()) touch(value);
        g_touched = g_touched + request.corr();
    }
    void on_response(const mesh::PeerInfo& from, const wire::Response& response) override {
        read(from);
        touch(mesh::view(response.detail()));
        (void)json::is_valid(mesh::view(response.result()));
        g_touched = g_touched + response.corr() + static_cast<std::uint64_t>(response.code());
    }
    void on_client_event(const mesh::PeerInfo& from, const wire::ClientEvent& event) override {
        read(from);
        touch(mesh::view(event.client()));
        touch(mesh::view(event.user()));
        g_touched = g_touched + static_cast<std::uint64_t>(event.kind()) + event.resumed();
    }

private:
    static void read(const mesh::PeerInfo& peer) {
        touch(peer.id);
        touch(peer.endpoint);
        touch(peer.name);
        touch(peer.key);
        for (const auto& q : peer.queues) touch(q);
    }
};

// Where every DEALER of a mesh that never starts dials: a ROUTER on inproc in the mesh's own
// context (so nothing leaves the process). drain() reads back what the mesh sent and aborts
// on a frame that its own open_envelope refuses. Destroy it before its mesh: the mesh's
// context ends only once this socket is closed. receive_hwm: the frames it holds per DEALER
// on top of the DEALER's own high-water mark; past both, the mesh's sends fail, as to a
// peer that does not keep up.
class LoopbackSink {
public:
    explicit LoopbackSink(mesh::Mesh& mesh, int receive_hwm = 1000) {
        static int made = 0;  // one sink name per mesh: inproc names are per context anyway
        const std::string sink_at = "inproc://fuzz-sink-" + std::to_string(++made);
        sink_ = zmq::socket_t{mesh::MeshFuzzAccess::context(mesh), zmq::socket_type::router};
        sink_.set(zmq::sockopt::linger, 0);
        sink_.set(zmq::sockopt::rcvhwm, receive_hwm);
        sink_.bind(sink_at);
        mesh::MeshFuzzAccess::prepare(mesh, std::string{kOwnEndpoint}, sink_at);
    }
    LoopbackSink(const LoopbackSink&) = delete;
    LoopbackSink& operator=(const LoopbackSink&) = delete;

    // Reads every frame the mesh sent so far; seen (may be empty) gets each verified one.
    template <class Seen>
    void drain(Seen&& seen) {
        for (;;) {
            zmq::message_t from;
            zmq::message_t frame;
            if (!sink_.recv(from, zmq::recv_flags::dontwait)) return;
            if (!from.more() || !sink_.recv(frame, zmq::recv_flags::dontwait)) continue;
            aligned_.assign((frame.size() + 7) / 8, 0);
            if (frame.size() != 0) std::memcpy(aligned_.data(), frame.data(), frame.size());
            const wire::Envelope* env =
                frame.more() ? nullptr : mesh::open_envelope(aligned_.data(), frame.size());
            if (!env) {
                std::fprintf(stderr, "fuzz: the mesh sent a frame of %zu bytes that does not "
                                     "verify\n", frame.size());
                std::abort();
            }
            ++sent_;
            seen(*env);
        }
    }
    void drain() {
        drain([](const wire::Envelope&) {});
    }
    std::uint64_t sent() const { return sent_; }

private:
    zmq::socket_t sink_;  // ROUTER on inproc: where every DEALER of the mesh dials
    std::vector<std::uint64_t> aligned_;  // the frame being read, 8-byte aligned
    std::uint64_t sent_ = 0;              // frames read back
};

class LoopbackMesh {
public:
    enum class Security { none, curve };

    explicit LoopbackMesh(Security security) : mesh_{options(), handler_}, sink_{mesh_} {
        if (security == Security::curve) {
            auto allowed = mesh::AllowList::parse(kAllowList, "the fuzz allow-list");
            if (!allowed) {
                std::fprintf(stderr, "fuzz: %s\n", allowed.error().to_string().c_str());
                std::abort();
            }
            mesh::MeshFuzzAccess::secure(mesh_, mesh::KeyPair::generate(), std::move(*allowed));
        }
    }
    LoopbackMesh(const LoopbackMesh&) = delete;
    LoopbackMesh& operator=(const LoopbackMesh&) = delete;

    // misaligned: the bytes start one past an 8-byte boundary (Mesh::receive then reads
    // them from an aligned copy of its own).
    void receive(std::string_view from, std::string_view key, std::string_view frame,
                 bool misaligned = false) {
        receive_into(mesh_, from, key, frame, misaligned);
    }
    void hear(const mesh::Beacon::Heard& heard) { mesh::MeshFuzzAccess::hear(mesh_, heard); }
    void dial_wanted() { mesh::MeshFuzzAccess::dial_wanted(mesh_); }

    // Reads what the mesh sent; aborts on a frame that its own open_envelope refuses.
    void drain_sink() { sink_.drain(); }
    std::uint64_t sent() const { return sink_.sent(); }
    const mesh::MeshStats& stats() const { return mesh_.stats(); }

    // One frame into any mesh's receive path, as its ROUTER would read it: a copy that ends
    // where the frame ends (so ASan catches a read one past it), maybe at an odd address.
    static void receive_into(mesh::Mesh& mesh, std::string_view from, std::string_view key,
                             std::string_view frame, bool misaligned = false) {
        const std::size_t skip = misaligned ? 1 : 0;
        std::vector<std::uint8_t> bytes(skip + frame.size());
        std::copy(frame.begin(), frame.end(), bytes.begin() + static_cast<std::ptrdiff_t>(skip));
        mesh::MeshFuzzAccess::receive(mesh, from, bytes.data() + skip, frame.size(), key);
    }

private:
    static mesh::MeshOptions options() {
        mesh::MeshOptions o;
        o.name = "fuzz";
        o.role = wire::Role::Edge;
        return o;
    }

    ReadingHandler handler_;
    mesh::Mesh mesh_;    // after handler_, which it calls; before sink_, which is in its context
    LoopbackSink sink_;  // where every DEALER of mesh_ dials
};

}  // namespace adashta::fuzz
