// The input format of fuzz_router, shared with make_corpus: what the fake peers are, which
// queues the edge is configured with, and how an input becomes a run of steps (mesh frames
// from the peers, and the browser-side calls that give those frames something to act on).
//
//   for (const RouterStep& step : split_router_steps(input)) apply(step);
//
// Input: one byte of mode, then steps.
//   mode bits 0-2: which of kRouterPeers say their Hello first (made here, so that the
//                  fuzzer's own frames start from members that route and get answers)
//   step: [kind: 1 byte] [size: 2 bytes, little-endian] [size bytes]
//     kind bits 0-1: the peer (kSenders index; for browser steps, the session s-0..s-3)
//     kind bit 2:    a flag, by op (below)
//     kind bits 4-7: the op, modulo kRouterOps:
//       frame      the bytes are a mesh frame from the peer (Mesh::receive)
//       produce    a browser's produce: bytes "queue\0id\0data" (id may be empty; flag:
//                  with a ref, so it wants an answer; bit 3: scheduled 1 s from now)
//       connect    a browser connects, bytes are its user (flag: resumed)
//       disconnect the session's browser goes
//       fetch      a browser fetch of the queue in bytes (flag: since a time, not from 1)
//       replay     a resume's replay of the queue in bytes, from offset 1
//       where      a consume's "where does the queue stand"
//       ack        the peers read what the edge sent them, then the peer acks the n-th
//                  message the edge delivered to peers (n: the first byte, modulo how many
//                  there were; none yet: nothing)
//       retry      time passes: the retry the router asked the mesh for (on_retry) runs;
//                  flag: the peers read what the edge sent them first (until a step lets
//                  them, a peer takes 16 frames, then the edge's sends to it fail)
//       admin      an admin page's snapshot
//       expire     the HTTP thread forgets the session
// A last step that claims more bytes than are left takes what is left.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mesh_harness.hpp"

namespace adashta::fuzz {

enum class RouterOp : std::uint8_t {
    frame,
    produce,
    connect,
    disconnect,
    fetch,
    replay,
    where,
    ack,
    retry,
    admin,
    expire,
};
inline constexpr std::uint8_t kRouterOps = 11;

struct RouterStep {
    RouterOp op = RouterOp::frame;
    std::uint8_t peer = 0;  // kSenders index, or session index
    bool flag = false;
    bool scheduled = false;  // produce: bit 3
    std::string_view bytes;
};

inline std::vector<RouterStep> split_router_steps(std::string_view in) {
    std::vector<RouterStep> out;
    while (in.size() >= 3) {
        const auto kind = static_cast<std::uint8_t>(in[0]);
        std::size_t size = static_cast<std::uint8_t>(in[1]) |
                           static_cast<std::size_t>(static_cast<std::uint8_t>(in[2])) << 8;
        in.remove_prefix(3);
        if (size > in.size()) size = in.size();
        out.push_back({static_cast<RouterOp>((kind >> 4) % kRouterOps),
                       static_cast<std::uint8_t>(kind & 3), ((kind >> 2) & 1) != 0,
                       ((kind >> 3) & 1) != 0, in.substr(0, size)});
        in.remove_prefix(size);
    }
    return out;
}

inline void append_router_step(std::string& out, RouterOp op, std::uint8_t peer,
                               std::string_view bytes, bool flag = false,
                               bool scheduled = false) {
    out += static_cast<char>(static_cast<std::uint8_t>(op) << 4 | (peer & 3) |
                             (flag ? 4 : 0) | (scheduled ? 8 : 0));
    out += static_cast<char>(bytes.size() & 0xFF);
    out += static_cast<char>((bytes.size() >> 8) & 0xFF);
    out += bytes;
}

// The members the harness can make join (mode bits 0-2), kSenders[0..2]: two server nodes
// (one reads batched Requests and Responses, one reads neither) and another edge.
struct RouterPeer {
    std::string_view endpoint;
    wire::Role role;
    std::vector<std::string> queues;
    wire::Reads reads;
};
inline const std::array<RouterPeer, 3>& router_peers() {
    static const std::array<RouterPeer, 3> peers{{
        {"tcp://127.0.0.1:7801", wire::Role::Node,
         {"orders", "chat.*", "live", "jobs", "sched", "redo", "tiny"},
         wire::Reads::Responses | wire::Reads::Requests},
        {"tcp://127.0.0.1:7802", wire::Role::Node, {"orders", "live", "redo"}, wire::Reads::NONE},
        {"tcp://127.0.0.1:7803", wire::Role::Edge, {}, wire::Reads::Responses},
    }};
    return peers;
}

// Peer i's Hello as the answer to ours (reply false): the edge takes it in as a member that
// knows it at once, so it routes to it.
inline void encode_router_peer_hello(flatbuffers::FlatBufferBuilder& fbb, std::size_t i) {
    const RouterPeer& peer = router_peers()[i];
    mesh::encode_hello(fbb, {.id = kSenders[i],
                             .endpoint = peer.endpoint,
                             .role = peer.role,
                             .name = peer.role == wire::Role::Edge ? "edge-b" : "worker",
                             .queues = &peer.queues,
                             .version = 1,
                             .reply = false,
                             .via = kOwnEndpoint,
                             .heartbeat_ms = 1000,
                             .reads = peer.reads});
}

// Sessions browser steps act for.
inline std::string router_session(std::uint8_t i) {
    return "s-fuzz-session-" + std::to_string(i & 3);
}

}  // namespace adashta::fuzz
