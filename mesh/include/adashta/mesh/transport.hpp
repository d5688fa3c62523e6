// Mesh sockets, hardened the same way everywhere: a node receives on one ROUTER and sends
// to each peer through a DEALER whose routing id is the node's id.
//
// Why these options: ZMQ_IMMEDIATE makes a send to a peer that is not connected fail at
// once (so the edge can route to the next node) instead of queueing for a process that may
// never come back; ZMQ_MAXMSGSIZE drops oversized frames before they are buffered;
// ZMQ_HEARTBEAT_* finds dead TCP connections that send no FIN; ROUTER_HANDOVER lets a peer
// that reconnects under the same id take over its old pipe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "adashta/mesh/keys.hpp"
#include "adashta/result.hpp"

namespace adashta::mesh {

struct SocketLimits {
    std::int64_t max_message_size = 16 << 20;   // bytes; larger frames are dropped
    int high_water_mark = 100000;               // messages queued per peer
    std::chrono::milliseconds heartbeat{1000};  // ZMTP ping interval
    std::chrono::milliseconds timeout{3000};    // ZMTP silence that closes a connection
};

// "HOST:PORT", "tcp://HOST:PORT" or "tcp://HOST:*" -> "tcp://HOST:PORT"; Errc::bad_endpoint
// otherwise (only tcp is spoken between machines; ipc and inproc are refused).
Result<std::string> normalize_endpoint(std::string_view text);

// The ZAP domain of mesh ROUTERs: the ZAP handler (mesh.cpp) answers for it.
inline constexpr const char* kZapDomain = "adashta";

// Binds a ROUTER on endpoint (port * or 0 picks a free one). Errc::bind_failed when the
// address is taken or not local. With curve, the ROUTER is a CURVE server with that key
// pair, and every connection is checked by the ZAP handler of ctx (domain kZapDomain).
Result<zmq::socket_t> bind_router(zmq::context_t& ctx, const std::string& endpoint,
                                  const SocketLimits& limits, const KeyPair* curve = nullptr);
// The endpoint a socket is bound to, with the real port.
std::string bound_endpoint(zmq::socket_t& socket);
// A DEALER connected to endpoint, identified to its ROUTER as self_id. Connecting never
// fails for a well-formed endpoint: ZeroMQ dials in the background and keeps redialing.
// With curve, the DEALER is a CURVE client with that key pair, and server_key is the
// public key of the member listening at endpoint.
Result<zmq::socket_t> connect_dealer(zmq::context_t& ctx, std::string_view self_id,
                                     const std::string& endpoint, const SocketLimits& limits,
                                     const KeyPair* curve = nullptr,
                                     std::string_view server_key = {});

}  // namespace adashta::mesh
