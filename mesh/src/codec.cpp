#include "adashta/mesh/codec.hpp"

#include <cassert>
#include <cstdint>

namespace adashta::mesh {
namespace {

flatbuffers::Offset<flatbuffers::String> str(flatbuffers::FlatBufferBuilder& fbb,
                                             std::string_view s) {
    return fbb.CreateString(s.data(), s.size());
}

template <class T>
void finish(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<T> body) {
    fbb.Finish(wire::CreateEnvelope(fbb, type, body.Union()));
}

}  // namespace

void encode_hello(flatbuffers::FlatBufferBuilder& fbb, const HelloFields& h) {
    fbb.Clear();
    std::vector<flatbuffers::Offset<flatbuffers::String>> queues;
    if (h.queues)
        for (const auto& q : *h.queues) queues.push_back(str(fbb, q));
    const auto queues_vec = fbb.CreateVector(queues);
    const auto id = str(fbb, h.id);
    const auto endpoint = str(fbb, h.endpoint);
    const auto name = str(fbb, h.name);
    const auto via = str(fbb, h.via);
    const auto answer_to = str(fbb, h.answer_to);
    const auto key = h.public_key.empty() ? flatbuffers::Offset<flatbuffers::String>{}
                                          : str(fbb, h.public_key);
    finish(fbb, wire::Body::Hello,
           wire::CreateHello(fbb, id, endpoint, h.role, name, queues_vec, h.version, h.reply, via,
                             answer_to, h.heartbeat_ms, h.reads, key));
}

void encode_heartbeat(flatbuffers::FlatBufferBuilder& fbb, std::string_view id,
                      std::string_view endpoint, std::uint32_t version) {
    fbb.Clear();
    const auto id_off = str(fbb, id);
    const auto endpoint_off = str(fbb, endpoint);
    finish(fbb, wire::Body::Heartbeat, wire::CreateHeartbeat(fbb, id_off, endpoint_off, version));
}

void encode_peer_list(flatbuffers::FlatBufferBuilder& fbb,
                      const std::vector<std::string>& endpoints,
                      const std::vector<std::string>& keys) {
    fbb.Clear();
    const auto list = fbb.CreateVectorOfStrings(endpoints);
    const auto key_list = keys.empty() ? flatbuffers::Offset<flatbuffers::Vector<
                                             flatbuffers::Offset<flatbuffers::String>>>{}
                                       : fbb.CreateVectorOfStrings(keys);
    finish(fbb, wire::Body::PeerList, wire::CreatePeerList(fbb, list, key_list));
}

void encode_bye(flatbuffers::FlatBufferBuilder& fbb, std::string_view id) {
    fbb.Clear();
    const auto id_off = str(fbb, id);
    finish(fbb, wire::Body::Bye, wire::CreateBye(fbb, id_off));
}

void encode_deliver(flatbuffers::FlatBufferBuilder& fbb, const DeliverFields& d) {
    fbb.Clear();
    const auto data =
        fbb.CreateVector(reinterpret_cast<const std::uint8_t*>(d.data.data()), d.data.size());
    const auto id = str(fbb, d.id);
    const auto queue = str(fbb, d.queue);
    const auto client = str(fbb, d.client);
    const auto user = d.user.empty() ? flatbuffers::Offset<flatbuffers::String>{} : str(fbb, d.user);
    finish(fbb, wire::Body::Deliver,
           wire::CreateDeliver(fbb, id, queue, client, data, d.created_ms, d.fanout, 0, d.offset,
                               d.receive_count, d.deliver_at_ms, user));
}

void encode_ack(flatbuffers::FlatBufferBuilder& fbb, std::string_view id, std::string_view queue) {
    fbb.Clear();
    const auto id_off = str(fbb, id);
    const auto queue_off = str(fbb, queue);
    finish(fbb, wire::Body::Ack, wire::CreateAck(fbb, id_off, queue_off));
}

void encode_request(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t corr, std::string_view op,
                    std::string_view args_json) {
    fbb.Clear();
    const auto op_off = str(fbb, op);
    const auto args_off = str(fbb, args_json);
    finish(fbb, wire::Body::Request, wire::CreateRequest(fbb, corr, op_off, args_off));
}

void encode_requests(flatbuffers::FlatBufferBuilder& fbb, std::span<const RequestFields> requests) {
    fbb.Clear();
    std::vector<flatbuffers::Offset<wire::Request>> items;
    items.reserve(requests.size());
    for (const auto& r : requests) {
        const auto op_off = str(fbb, r.op);
        const auto args_off = str(fbb, r.args);
        items.push_back(wire::CreateRequest(fbb, r.corr, op_off, args_off));
    }
    const auto items_off = fbb.CreateVector(items);
    finish(fbb, wire::Body::Requests, wire::CreateRequests(fbb, items_off));
}

void encode_response(flatbuffers::FlatBufferBuilder& fbb, std::uint64_t corr, int code,
                     std::string_view detail, std::string_view result_json) {
    fbb.Clear();
    const auto detail_off = str(fbb, detail);
    const auto result_off = str(fbb, result_json);
    finish(fbb, wire::Body::Response,
           wire::CreateResponse(fbb, corr, code, detail_off, result_off));
}

void encode_responses(flatbuffers::FlatBufferBuilder& fbb,
                      std::span<const ResponseFields> responses) {
    fbb.Clear();
    std::vector<flatbuffers::Offset<wire::Response>> items;
    items.reserve(responses.size());
    for (const auto& r : responses) {
        const auto detail_off = str(fbb, r.detail);
        const auto result_off = str(fbb, r.result);
        items.push_back(wire::CreateResponse(fbb, r.corr, r.code, detail_off, result_off));
    }
    const auto items_off = fbb.CreateVector(items);
    finish(fbb, wire::Body::Responses, wire::CreateResponses(fbb, items_off));
}

void encode_client_event(flatbuffers::FlatBufferBuilder& fbb, wire::ClientEventKind kind,
                         std::string_view client, bool resumed, std::string_view user) {
    fbb.Clear();
    const auto client_off = str(fbb, client);
    const auto user_off = user.empty() ? flatbuffers::Offset<flatbuffers::String>{} : str(fbb, user);
    finish(fbb, wire::Body::ClientEvent,
           wire::CreateClientEvent(fbb, kind, client_off, resumed, user_off));
}

const wire::Envelope* open_envelope(const void* bytes, std::size_t size) {
    if (!bytes || size == 0) return nullptr;
    assert(reinterpret_cast<std::uintptr_t>(bytes) % alignof(std::uint64_t) == 0 &&
           "open_envelope needs an 8-byte aligned buffer");
    flatbuffers::Verifier verifier{static_cast<const std::uint8_t*>(bytes), size};
    if (!wire::VerifyEnvelopeBuffer(verifier)) return nullptr;
    const wire::Envelope* env = wire::GetEnvelope(bytes);
    if (env->body_type() == wire::Body::NONE || !env->body()) return nullptr;
    return env;
}

}  // namespace adashta::mesh
