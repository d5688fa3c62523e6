// The browser frame parser (edge/src/protocol.cpp): the JSON text frames the edge reads from
// every WebSocket. A frame either parses into what protocol.hpp promises (valid queue
// names and session ids, produce data that is valid JSON, numbers in their ranges) or gives
// an error the edge can answer with; either way the answer the edge would write from it is
// valid JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "adashta/json.hpp"
#include "adashta/names.hpp"
#include "check.hpp"
#include "protocol.hpp"

namespace edge = adashta::edge;
namespace json = adashta::json;

namespace {

void check_frame(const edge::ClientFrame& frame) {
    using edge::FrameType;
    std::string out;
    switch (frame.type) {
        case FrameType::hello:
            FUZZ_CHECK(frame.session.empty() || adashta::is_valid_session_id(frame.session));
            FUZZ_CHECK(frame.secret.size() <= 128 && frame.token.size() <= 8192);
            edge::encode_welcome(out, frame.session.empty() ? "s" : frame.session, true, 65536,
                                 frame.secret, frame.token);
            FUZZ_CHECK(json::is_valid(out));
            return;
        case FrameType::refresh:
            FUZZ_CHECK(!frame.token.empty() && frame.token.size() <= 8192);
            return;
        case FrameType::produce:
            FUZZ_CHECK(adashta::is_valid_queue_name(frame.queue));
            FUZZ_CHECK(json::is_valid(frame.data));
            FUZZ_CHECK(frame.id.empty() || adashta::is_valid_message_id(frame.id));
            FUZZ_CHECK(frame.delay_ms >= 0 && frame.delay_ms <= edge::kMaxDelayMs);
            FUZZ_CHECK(frame.deliver_at_ms >= 0);
            FUZZ_CHECK(frame.delay_ms == 0 || frame.deliver_at_ms == 0);
            edge::encode_message(out, frame.queue, frame.id.empty() ? "m" : frame.id, frame.data,
                                 1, 7);
            FUZZ_CHECK(json::is_valid(out));
            return;
        case FrameType::consume:
        case FrameType::unconsume:
            FUZZ_CHECK(adashta::is_valid_queue_name(frame.queue));
            FUZZ_CHECK(!frame.from || *frame.from >= 0);
            return;
        case FrameType::fetch:
            FUZZ_CHECK(adashta::is_valid_queue_name(frame.queue));
            FUZZ_CHECK(frame.limit >= 1 && frame.limit <= edge::kMaxFetch);
            FUZZ_CHECK(!(frame.from && frame.since_ms));
            edge::encode_fetched(out, frame.ref.value_or(0), frame.queue, {},
                                 frame.from.value_or(0));
            FUZZ_CHECK(json::is_valid(out));
            return;
        case FrameType::ping:
            edge::encode_pong(out, frame.ref.value_or(0));
            FUZZ_CHECK(json::is_valid(out));
            return;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    auto parsed = edge::parse_client_frame(text);
    if (auto* bad = std::get_if<edge::FrameError>(&parsed)) {
        // The edge answers a bad frame with its code and the detail.
        std::string out;
        edge::encode_error(out, bad->ref, bad->error.code, bad->error.detail);
        FUZZ_CHECK(json::is_valid(out));
        return 0;
    }
    FUZZ_CHECK(json::is_valid(text));
    check_frame(std::get<edge::ClientFrame>(parsed));
    return 0;
}
