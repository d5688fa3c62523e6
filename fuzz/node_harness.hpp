// The input format of fuzz_node, shared with make_corpus: the fake members around the
// node (two edges and another server node), the queues the node consumes, what its message
// handler does with a message, and how an input becomes a run of steps.
//
// Input: one byte of mode, then steps.
//   mode bits 0-2: which of node_peers() say their Hello first
//   step: [kind: 1 byte] [size: 2 bytes, little-endian] [size bytes]
//     kind bits 0-1: the peer (kSenders index) a frame comes from
//     kind bit 2:    a flag, by op
//     kind bits 4-7: the op, modulo kNodeOps:
//       frame      the bytes are a mesh frame from the peer (Mesh::receive)
//       call       a thread of the application calls Node::call: bytes "op\0args"; the
//                  edge's answer is a Response with corr 1, 2, ... in a later frame
//       produce    the application produces: bytes "queue\0data" (flag: to the client
//                  kNodeClient, else to every consumer; bit 3: confirm, from a thread)
//       consume    the application consumes the queue in bytes (the same handler)
//       unconsume  and stops consuming it
//       settle     the application acks (flag) or releases what its handler deferred
// A last step that claims more bytes than are left takes what is left.
//
// What the message handler does, by what the message's data contains (first match):
//   "throw" throws a std::runtime_error, "int" throws an int (not a std::exception),
//   "defer" takes it for later (Node::defer; the settle step acks it), "reply" produces
//   its data back to its client, "user" to its user, "unconsume" stops consuming its queue,
//   "stop" stops the node from inside the handler. Anything else: it returns (an ack).
// The connection handler throws for a user "throw"; the error hook throws when what it is
// told of was not a std::exception.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mesh_harness.hpp"

namespace adashta::fuzz {

enum class NodeOp : std::uint8_t { frame, call, produce, consume, unconsume, settle };
inline constexpr std::uint8_t kNodeOps = 6;

struct NodeStep {
    NodeOp op = NodeOp::frame;
    std::uint8_t peer = 0;
    bool flag = false;
    bool confirm = false;  // produce: bit 3
    std::string_view bytes;
};

inline std::vector<NodeStep> split_node_steps(std::string_view in) {
    std::vector<NodeStep> out;
    while (in.size() >= 3) {
        const auto kind = static_cast<std::uint8_t>(in[0]);
        std::size_t size = static_cast<std::uint8_t>(in[1]) |
                           static_cast<std::size_t>(static_cast<std::uint8_t>(in[2])) << 8;
        in.remove_prefix(3);
        if (size > in.size()) size = in.size();
        out.push_back({static_cast<NodeOp>((kind >> 4) % kNodeOps),
                       static_cast<std::uint8_t>(kind & 3), ((kind >> 2) & 1) != 0,
                       ((kind >> 3) & 1) != 0, in.substr(0, size)});
        in.remove_prefix(size);
    }
    return out;
}

inline void append_node_step(std::string& out, NodeOp op, std::uint8_t peer,
                             std::string_view bytes, bool flag = false, bool confirm = false) {
    out += static_cast<char>(static_cast<std::uint8_t>(op) << 4 | (peer & 3) | (flag ? 4 : 0) |
                             (confirm ? 8 : 0));
    out += static_cast<char>(bytes.size() & 0xFF);
    out += static_cast<char>((bytes.size() >> 8) & 0xFF);
    out += bytes;
}

// The queues the node consumes from the start.
inline const std::vector<std::string>& node_queues() {
    static const std::vector<std::string> queues{"orders", "jobs", "live"};
    return queues;
}
inline constexpr std::string_view kNodeClient = "s-fuzz-client-1";

// kSenders[0..2]: an edge that reads neither batch, an edge that reads both (calls go to
// the lowest live edge id: kSenders[0] when both are there), and another server node.
struct NodePeer {
    std::string_view endpoint;
    wire::Role role;
    wire::Reads reads;
};
inline const std::array<NodePeer, 3>& node_peers() {
    static const std::array<NodePeer, 3> peers{{
        {"tcp://127.0.0.1:7700", wire::Role::Edge, wire::Reads::NONE},
        {"tcp://127.0.0.1:7710", wire::Role::Edge, wire::Reads::Responses | wire::Reads::Requests},
        {"tcp://127.0.0.1:7801", wire::Role::Node, wire::Reads::NONE},
    }};
    return peers;
}

// Peer i's Hello as the answer to the node's (reply false): a member that knows the node.
inline void encode_node_peer_hello(flatbuffers::FlatBufferBuilder& fbb, std::size_t i) {
    const NodePeer& peer = node_peers()[i];
    static const std::vector<std::string> other_node_queues{"orders"};
    mesh::encode_hello(fbb, {.id = kSenders[i],
                             .endpoint = peer.endpoint,
                             .role = peer.role,
                             .name = peer.role == wire::Role::Edge ? "edge" : "other-node",
                             .queues = peer.role == wire::Role::Node ? &other_node_queues : nullptr,
                             .version = 1,
                             .reply = false,
                             .via = kOwnEndpoint,
                             .heartbeat_ms = 1000,
                             .reads = peer.reads});
}

}  // namespace adashta::fuzz
