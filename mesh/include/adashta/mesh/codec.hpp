// Builds and opens mesh messages (proto/mesh.fbs). Encoders fill a caller's builder so the
// hot path reuses one buffer; open_envelope verifies a received frame before anything
// reads it, so a corrupt or hostile frame is rejected instead of read out of bounds.
//
//   flatbuffers::FlatBufferBuilder fbb;
//   encode_deliver(fbb, {.id = id, .queue = "orders", .client = session, .data = json});
//   send(fbb.GetBufferPointer(), fbb.GetSize());
//   ...
//   const wire::Envelope* env = open_envelope(frame.data(), frame.size());
//   if (!env) drop_and_count();
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/mesh_generated.h"

namespace adashta::mesh {

struct HelloFields {
    std::string_view id;        // sender's node id
    std::string_view endpoint;  // sender's advertised ROUTER endpoint
    wire::Role role = wire::Role::Node;
    std::string_view name;                   // human label
    const std::vector<std::string>* queues;  // consumed queues; may be null for none
    std::uint32_t version = 0;               // of the queue set
    bool reply = false;                      // ask the receiver for its Hello
    std::string_view via;                    // endpoint the sender dialed
    std::string_view answer_to;              // via of the Hello this answers
    std::uint32_t heartbeat_ms = 0;          // sender's heartbeat interval
    wire::Reads reads = wire::Reads::NONE;   // what the sender reads beyond the first protocol
    std::string_view public_key;             // with CURVE: the sender's key (Z85)
};

struct DeliverFields {
    std::string_view id;  // message id
    std::string_view queue;
    std::string_view client;  // sender (client -> node) or target (node -> client)
    std::string_view data;    // JSON text
    std::int64_t created_ms = 0;
    bool fanout = false;              // node -> every client consuming queue
    std::int64_t offset = 0;          // place in the queue's stream at the edge (0: none)
    std::uint32_t receive_count = 0;  // edge -> node: 1 on first delivery; 0: not stored
                                      // (at-most-once queue), so the node does not ack it
    std::int64_t deliver_at_ms = 0;   // node -> edge: hold until then (0: now)
    std::string_view user;            // client -> node: the sender's user; node -> edge: the
                                      // target user (every session of it)
};

void encode_hello(flatbuffers::FlatBufferBuilder& fbb, const HelloFields& hello);
void encode_heartbeat(flatbuffers::FlatBufferBuilder& fbb, std::string_view id,
                      std::string_view endpoint, std::uint32_t version);
// keys: empty, or the key of each endpoint ("" when unknown).
void encode_peer_list(flatbuffers::FlatBufferBuilder& fbb,
                      const std::vector<std::string>& endpoints,
                      const std::vector<std::string>& keys = {});
void encode_bye(flatbuffers::FlatBufferBuilder& fbb, std::string_view id);
void encode_deliver(flatbuffers::FlatBufferBuilder& fbb, const DeliverFields& deliver);
void encode_ack(flatbuffers::FlatBufferBuilder& fbb, std::string_view id, std::string_view queue);
void encode_request(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t corr, std::string_view op,
                    std::string_view args_json);

struct RequestFields {
    std::uint64_t corr = 0;
    std::string_view op;
    std::string_view args;  // JSON
};

// Several calls in one frame (wire::Requests), for a peer that reads them.
void encode_requests(flatbuffers::FlatBufferBuilder& fbb, std::span<const RequestFields> requests);
struct ResponseFields {
    std::uint64_t corr = 0;
    int code = 0;  // 0 or an error code (proto/errors.json)
    std::string_view detail;
    std::string_view result;  // JSON
};

void encode_response(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t corr, int code,
                     std::string_view detail, std::string_view result_json);
// Several answers in one frame (wire::Responses), for a peer that reads them.
void encode_responses(flatbuffers::FlatBufferBuilder& fbb,
                      std::span<const ResponseFields> responses);
void encode_client_event(flatbuffers::FlatBufferBuilder& fbb, wire::ClientEventKind kind,
                         std::string_view client, bool resumed, std::string_view user = {});

// The verified envelope inside bytes, or nullptr when they are not a valid Envelope (or
// its body is missing). The pointer is valid while bytes are. bytes must be 8-byte aligned:
// FlatBuffers reads its fields in place.
const wire::Envelope* open_envelope(const void* bytes, std::size_t size);

// A FlatBuffers string as a view; empty for a missing field.
inline std::string_view view(const flatbuffers::String* s) {
    return s ? std::string_view{s->data(), s->size()} : std::string_view{};
}
inline std::string_view view(const flatbuffers::Vector<std::uint8_t>* v) {
    return v ? std::string_view{reinterpret_cast<const char*>(v->data()), v->size()}
             : std::string_view{};
}

}  // namespace adashta::mesh
