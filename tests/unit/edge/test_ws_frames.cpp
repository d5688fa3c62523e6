#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ws_frames.hpp"

using namespace adashta::edge;
using ws::Opcode;

namespace {

// A client frame: masked with a fixed key unless told; length overrides the announced size.
std::string client_frame(Opcode opcode, std::string_view payload, bool fin = true,
                         bool mask = true, std::optional<std::uint64_t> length = {},
                         unsigned char rsv = 0) {
    const std::uint64_t size = length.value_or(payload.size());
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0) | rsv | static_cast<int>(opcode)));
    const unsigned char m = mask ? 0x80 : 0;
    if (size < 126) {
        out.push_back(static_cast<char>(m | size));
    } else if (size <= 0xffff) {
        out.push_back(static_cast<char>(m | 126));
        out.push_back(static_cast<char>(size >> 8));
        out.push_back(static_cast<char>(size));
    } else {
        out.push_back(static_cast<char>(m | 127));
        for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(size >> (8 * i)));
    }
    const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (mask) out.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out.push_back(static_cast<char>(payload[i] ^ (mask ? key[i % 4] : 0)));
    return out;
}

std::string close_frame(std::uint16_t code, std::string_view reason = {}) {
    std::string payload;
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code));
    payload += reason;
    return client_frame(Opcode::close, payload);
}

struct Recorder : ws::Decoder::Events {
    std::vector<std::string> events;
    void on_message(bool binary, std::string_view payload) override {
        events.push_back((binary ? "binary:" : "text:") + std::string{payload});
    }
    void on_ping(std::string_view payload) override {
        events.push_back("ping:" + std::string{payload});
    }
    void on_pong(std::string_view payload) override {
        events.push_back("pong:" + std::string{payload});
    }
    void on_close(std::uint16_t code, std::string_view reason) override {
        events.push_back("close:" + std::to_string(code) + ":" + std::string{reason});
    }
};

// Feeds bytes in pieces of `piece` bytes (0: all at once); returns the close code or 0.
std::uint16_t feed(ws::Decoder& decoder, Recorder& r, std::string bytes, std::size_t piece = 0) {
    if (piece == 0) piece = bytes.size();
    for (std::size_t at = 0; at < bytes.size(); at += piece)
        if (auto code = decoder.feed(bytes.data() + at, std::min(piece, bytes.size() - at), r))
            return code;
    return 0;
}

}  // namespace

TEST_CASE("the accept key is RFC 6455's example", "[ws_frames]") {
    CHECK(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("server frame headers take 2, 4 or 10 bytes in front of the payload", "[ws_frames]") {
    for (std::size_t size : {std::size_t{0}, std::size_t{125}, std::size_t{126}, std::size_t{65535},
                             std::size_t{65536}}) {
        std::string frame(ws::kMaxServerHeader, '\0');
        frame += std::string(size, 'x');
        char* payload = frame.data() + ws::kMaxServerHeader;
        char* start = ws::put_header(payload, Opcode::text, size);
        const auto header = static_cast<std::size_t>(payload - start);
        CHECK(header == (size < 126 ? 2u : size <= 0xffff ? 4u : 10u));
        CHECK(static_cast<unsigned char>(start[0]) == 0x81);
        CHECK((static_cast<unsigned char>(start[1]) & 0x80) == 0);  // never masked
    }
}

TEST_CASE("a close payload keeps the reason within 125 bytes and whole characters", "[ws_frames]") {
    const std::string reason(200, 'a');
    CHECK(ws::close_payload(1000, reason).size() == 125);
    const std::string wide = std::string(122, 'a') + "\xc3\xa9";  // 124 bytes, é at the end
    const std::string cut = ws::close_payload(1000, wide + "\xc3\xa9");
    CHECK(cut.size() == 124);
    CHECK(ws::valid_utf8(cut.substr(2)));
}

TEST_CASE("UTF-8 check takes text and refuses overlongs, surrogates and past U+10FFFF",
          "[ws_frames]") {
    CHECK(ws::valid_utf8("plain ascii, long enough to take the eight-byte path"));
    CHECK(ws::valid_utf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // κόσμε
    CHECK(ws::valid_utf8("\xf4\x8f\xbf\xbf"));                              // U+10FFFF
    CHECK_FALSE(ws::valid_utf8("\xc0\xaf"));          // overlong
    CHECK_FALSE(ws::valid_utf8("\xe0\x80\xaf"));      // overlong
    CHECK_FALSE(ws::valid_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(ws::valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(ws::valid_utf8("\xf5\x80\x80\x80"));
    CHECK_FALSE(ws::valid_utf8("\xce"));              // cut short
    CHECK_FALSE(ws::valid_utf8("\x80"));
}

TEST_CASE("messages come whole, in one piece or a byte at a time", "[ws_frames]") {
    const std::string bytes = client_frame(Opcode::text, "{\"type\":\"hello\"}") +
                              client_frame(Opcode::binary, std::string(300, 'b')) +
                              client_frame(Opcode::text, std::string(70000, 'c'));
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{4096}}) {
        ws::Decoder decoder{1 << 20};
        Recorder r;
        REQUIRE(feed(decoder, r, bytes, piece) == 0);
        REQUIRE(r.events.size() == 3);
        CHECK(r.events[0] == "text:{\"type\":\"hello\"}");
        CHECK(r.events[1] == "binary:" + std::string(300, 'b'));
        CHECK(r.events[2] == "text:" + std::string(70000, 'c'));
    }
}

TEST_CASE("fragments make one message, with pings answered in between, in order", "[ws_frames]") {
    const std::string bytes = client_frame(Opcode::text, "Hel", false) +
                              client_frame(Opcode::ping, "1") +
                              client_frame(Opcode::continuation, "lo ", false) +
                              client_frame(Opcode::ping, "2") +
                              client_frame(Opcode::continuation, "world") +
                              client_frame(Opcode::ping, "3");
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{5}}) {
        ws::Decoder decoder{1024};
        Recorder r;
        REQUIRE(feed(decoder, r, bytes, piece) == 0);
        CHECK(r.events ==
              std::vector<std::string>{"ping:1", "ping:2", "text:Hello world", "ping:3"});
    }
}

TEST_CASE("frame headers that break RFC 6455 fail with 1002 before any payload", "[ws_frames]") {
    struct Case {
        const char* what;
        std::string bytes;
    };
    const Case cases[] = {
        {"unmasked", client_frame(Opcode::text, "hi", true, false)},
        {"rsv1 without extension", client_frame(Opcode::text, "hi", true, true, {}, 0x40)},
        {"unknown opcode 3", client_frame(static_cast<Opcode>(3), "")},
        {"unknown opcode 11", client_frame(static_cast<Opcode>(11), "")},
        {"ping over 125", client_frame(Opcode::ping, std::string(126, 'p'))},
        {"fragmented ping", client_frame(Opcode::ping, "p", false)},
        {"top bit of the length", client_frame(Opcode::binary, "x", true, true, 1ULL << 63)},
        {"continuation first", client_frame(Opcode::continuation, "x")},
        {"text inside a fragmented text",
         client_frame(Opcode::text, "a", false) + client_frame(Opcode::text, "b")},
        {"one-byte close", client_frame(Opcode::close, "\x03")},
        {"close code 5000", close_frame(5000)},
        {"close code 1005", close_frame(1005)},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        ws::Decoder decoder{1 << 20};
        Recorder r;
        CHECK(feed(decoder, r, c.bytes) == ws::close_code::protocol_error);
        CHECK(decoder.failed() == ws::close_code::protocol_error);
        CHECK_FALSE(decoder.failure().empty());
        std::string more = client_frame(Opcode::text, "after");
        CHECK(decoder.feed(more.data(), more.size(), r) == ws::close_code::protocol_error);
        CHECK(r.events.empty());  // nothing after (or of) the bad frame is reported
    }
}

TEST_CASE("an unmasked frame fails at its second byte", "[ws_frames]") {
    ws::Decoder decoder{1024};
    Recorder r;
    std::string two = "\x81\x05";
    CHECK(decoder.feed(two.data(), two.size(), r) == ws::close_code::protocol_error);
}

TEST_CASE("a message over the limit fails with 1009 from its header", "[ws_frames]") {
    ws::Decoder decoder{100};
    Recorder r;
    // Only the header: the payload never needs to come.
    std::string header = client_frame(Opcode::text, "", true, true, 101);
    CHECK(feed(decoder, r, header) == ws::close_code::too_large);
    // Over the limit across fragments, decided at the fragment that passes it.
    ws::Decoder second{100};
    CHECK(feed(second, r, client_frame(Opcode::text, std::string(60, 'a'), false) +
                              client_frame(Opcode::continuation, "", true, true, 41)) ==
          ws::close_code::too_large);
    ws::Decoder third{100};
    CHECK(feed(third, r, client_frame(Opcode::text, std::string(100, 'a'))) == 0);
    CHECK(feed(third, r, client_frame(Opcode::text, "", true, true, 1ULL << 62)) ==
          ws::close_code::too_large);
}

TEST_CASE("bad UTF-8 fails with 1007 at the bad byte, mid-message", "[ws_frames]") {
    ws::Decoder decoder{1 << 20};
    Recorder r;
    // The first fragment is good, the second has a bad byte, the message never finishes.
    const std::string bytes = client_frame(Opcode::text, "good ", false) +
                              client_frame(Opcode::continuation, "bad \xff and more", false);
    CHECK(feed(decoder, r, bytes, 1) == ws::close_code::invalid_data);
    CHECK(r.events.empty());
    // A message that ends inside a sequence.
    ws::Decoder cut{1024};
    CHECK(feed(cut, r, client_frame(Opcode::text, "\xce")) == ws::close_code::invalid_data);
    // Binary is not checked.
    ws::Decoder binary{1024};
    CHECK(feed(binary, r, client_frame(Opcode::binary, "\xff\xfe")) == 0);
}

TEST_CASE("the client's close is reported with its code and reason, then nothing more",
          "[ws_frames]") {
    ws::Decoder decoder{1024};
    Recorder r;
    CHECK(feed(decoder, r, close_frame(1000, "bye") + client_frame(Opcode::text, "late")) == 0);
    CHECK(r.events == std::vector<std::string>{"close:1000:bye"});
    CHECK(decoder.closed());
    ws::Decoder empty{1024};
    Recorder e;
    CHECK(feed(empty, e, client_frame(Opcode::close, "")) == 0);
    CHECK(e.events == std::vector<std::string>{"close:1005:"});
    ws::Decoder bad_reason{1024};
    CHECK(feed(bad_reason, e, close_frame(1000, "\xff")) == ws::close_code::invalid_data);
}

TEST_CASE("unmasking is right at every offset and length", "[ws_frames]") {
    std::string payload;
    for (int i = 0; i < 300; ++i) payload.push_back(static_cast<char>('a' + i % 26));
    for (std::size_t size = 0; size < 40; ++size)
        for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{9}, std::size_t{0}}) {
            ws::Decoder decoder{1024};
            Recorder r;
            const std::string frame = client_frame(Opcode::binary, payload.substr(0, size));
            REQUIRE(feed(decoder, r, frame, piece) == 0);
            REQUIRE(r.events.size() == 1);
            CHECK(r.events[0] == "binary:" + payload.substr(0, size));
        }
}
