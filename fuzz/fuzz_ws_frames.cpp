// The edge's WebSocket decoder (edge/src/ws_frames.cpp): the client frames every browser
// connection sends. Whatever the bytes, the decoder reports only whole messages within its
// limit, text that is valid UTF-8, control payloads of at most 125 bytes, and a close or a
// failure code RFC 6455 allows; and it reports the same whether the bytes come at once or in
// pieces (the first input byte picks the piece size).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "check.hpp"
#include "ws_frames.hpp"

namespace ws = adashta::edge::ws;

namespace {

constexpr std::size_t kMaxMessage = 4096;

struct Recorder : ws::Decoder::Events {
    std::vector<std::string> events;
    void on_message(bool binary, std::string_view payload) override {
        FUZZ_CHECK(payload.size() <= kMaxMessage);
        FUZZ_CHECK(binary || ws::valid_utf8(payload));
        events.push_back((binary ? "b" : "t") + std::string{payload});
    }
    void on_ping(std::string_view payload) override {
        FUZZ_CHECK(payload.size() <= ws::kMaxControlPayload);
        events.push_back("i" + std::string{payload});
    }
    void on_pong(std::string_view payload) override {
        FUZZ_CHECK(payload.size() <= ws::kMaxControlPayload);
        events.push_back("o" + std::string{payload});
    }
    void on_close(std::uint16_t code, std::string_view reason) override {
        FUZZ_CHECK(ws::valid_utf8(reason));
        events.push_back("c" + std::to_string(code) + std::string{reason});
    }
};

std::uint16_t decode(std::string bytes, std::size_t piece, Recorder& r) {
    ws::Decoder decoder{kMaxMessage};
    std::uint16_t code = 0;
    for (std::size_t at = 0; at < bytes.size() && !code; at += piece)
        code = decoder.feed(bytes.data() + at, std::min(piece, bytes.size() - at), r);
    if (code) {
        FUZZ_CHECK(code == 1002 || code == 1007 || code == 1008 || code == 1009);
        FUZZ_CHECK(!decoder.failure().empty());
    }
    return code;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t piece = 1 + data[0] % 17;
    const std::string bytes{reinterpret_cast<const char*>(data) + 1, size - 1};
    Recorder whole;
    Recorder pieces;
    const std::uint16_t at_once = decode(bytes, bytes.size() + 1, whole);
    const std::uint16_t in_pieces = decode(bytes, piece, pieces);
    FUZZ_CHECK(at_once == in_pieces);
    // A failure is found at the same frame either way, but a piece may have delivered the
    // frames before it; without a failure, every event is the same.
    if (!at_once) FUZZ_CHECK(whole.events == pieces.events);
    return 0;
}
