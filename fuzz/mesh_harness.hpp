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
#include <string>
#include <string_view>
#include <vector>

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

class LoopbackMesh {
public:
    enum class Security { none, curve };

    explicit LoopbackMesh(Security security) : mesh_{options(), handler_} {
        static int made = 0;  // one sink name per mesh: inproc names are per context anyway
        const std::string sink_at = "inproc://fuzz-sink-" + std::to_string(++made);
        sink_ = zmq::socket_t{mesh::MeshFuzzAccess::context(mesh_), zmq::socket_type::router};
        sink_.set(zmq::sockopt::linger, 0);
        sink_.bind(sink_at);
        mesh::MeshFuzzAccess::prepare(mesh_, std::string{kOwnEndpoint}, sink_at);
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
        // A ZeroMQ frame's bytes: a copy that ends where the frame ends, so ASan catches a
        // read one past it.
        const std::size_t skip = misaligned ? 1 : 0;
        std::vector<std::uint8_t> bytes(skip + frame.size());
        std::copy(frame.begin(), frame.end(), bytes.begin() + static_cast<std::ptrdiff_t>(skip));
        mesh::MeshFuzzAccess::receive(mesh_, from, bytes.data() + skip, frame.size(), key);
    }
    void hear(const mesh::Beacon::Heard& heard) { mesh::MeshFuzzAccess::hear(mesh_, heard); }
    void dial_wanted() { mesh::MeshFuzzAccess::dial_wanted(mesh_); }

    // Reads what the mesh sent; aborts on a frame that its own open_envelope refuses.
    void drain_sink() {
        for (;;) {
            zmq::message_t from;
            zmq::message_t frame;
            if (!sink_.recv(from, zmq::recv_flags::dontwait)) return;
            if (!from.more() || !sink_.recv(frame, zmq::recv_flags::dontwait)) continue;
            std::vector<std::uint64_t> aligned((frame.size() + 7) / 8);
            if (frame.size() != 0) std::memcpy(aligned.data(), frame.data(), frame.size());
            if (frame.more() || !mesh::open_envelope(aligned.data(), frame.size())) {
                std::fprintf(stderr, "fuzz: the mesh sent a frame of %zu bytes that does not "
                                     "verify\n", frame.size());
                std::abort();
            }
            ++sent_;
        }
    }
    std::uint64_t sent() const { return sent_; }
    const mesh::MeshStats& stats() const { return mesh_.stats(); }

private:
    static mesh::MeshOptions options() {
        mesh::MeshOptions o;
        o.name = "fuzz";
        o.role = wire::Role::Edge;
        return o;
    }

    ReadingHandler handler_;
    mesh::Mesh mesh_;      // after handler_, which it calls; before sink_, which is in its context
    zmq::socket_t sink_;   // ROUTER on inproc: where every DEALER of mesh_ dials
    std::uint64_t sent_ = 0;  // frames read back from the sink
};

}  // namespace adashta::fuzz
