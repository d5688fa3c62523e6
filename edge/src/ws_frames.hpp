// WebSocket framing for the server side of RFC 6455, on its own (no sockets, no libwebsockets):
// the handshake's accept key, a decoder for client frames and an encoder for server frames.
// ClientSocket (client_socket.hpp) runs them over each upgraded connection.
//
// The decoder is incremental: it takes bytes as they come off the socket, in pieces of any
// size, and reports whole messages, pings, pongs and the close. It is strict, and decides as
// early as it can: a frame is refused from its header (mask bit, RSV bits, opcode, control
// frame rules, length) before any of its payload is read or kept; text is checked as UTF-8
// as it arrives, so a bad sequence fails the connection at once, even mid-message. Payloads
// are unmasked in place, eight bytes at a time; a message that arrives whole in one piece is
// handed on as a view into that piece, without a copy.
//
//   struct Sink : ws::Decoder::Events { ... };     // on_message, on_ping, on_close
//   ws::Decoder decoder{max_message};
//   if (auto code = decoder.feed(data, len, sink)) fail_with(code, decoder.failure());
//
//   std::string frame(LWS_PRE, '\0'); frame += payload;   // headroom in front, as lws_write wants
//   char* start = ws::put_header(frame.data() + LWS_PRE, ws::Opcode::text, payload.size());
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace adashta::edge::ws {

enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xa,
};

// Close codes the edge sends (RFC 6455 7.4.1).
namespace close_code {
constexpr std::uint16_t normal = 1000;
constexpr std::uint16_t going_away = 1001;
constexpr std::uint16_t protocol_error = 1002;
constexpr std::uint16_t invalid_data = 1007;   // text that is not UTF-8
constexpr std::uint16_t policy = 1008;
constexpr std::uint16_t too_large = 1009;      // a message over the limit
constexpr std::uint16_t no_status = 1005;      // a close without a code (never sent)
}  // namespace close_code

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455 GUID)).
std::string accept_key(std::string_view client_key);

// The longest header of a server frame (unmasked, 64-bit length).
constexpr std::size_t kMaxServerHeader = 10;
// The largest payload of a control frame.
constexpr std::size_t kMaxControlPayload = 125;

// Writes the header of a final, unmasked frame of opcode carrying payload_size bytes into the
// bytes just before payload (at most kMaxServerHeader of them must be free there), and returns
// where the frame now starts. The same frame may be given a header again (a fan-out frame
// shared by many connections): the bytes written are the same each time.
char* put_header(char* payload, Opcode opcode, std::size_t payload_size);

// Appends a whole frame (header and payload) to out; for control frames and tests.
void append_frame(std::string& out, Opcode opcode, std::string_view payload);

// The payload of a close frame: the code, then the reason cut to fit 125 bytes (at a UTF-8
// boundary).
std::string close_payload(std::uint16_t code, std::string_view reason);

// An incremental UTF-8 check (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF).
// ASCII is passed eight bytes at a time.
class Utf8Check {
public:
    // False at the first byte that no valid text can have there; the check then stays failed.
    bool feed(const unsigned char* bytes, std::size_t size);
    bool complete() const { return need_ == 0 && !failed_; }  // no sequence left open
    void reset() { *this = Utf8Check{}; }

private:
    std::uint8_t need_ = 0;     // continuation bytes still expected
    std::uint8_t low_ = 0x80;   // the range the next continuation byte must fall in
    std::uint8_t high_ = 0xbf;
    bool failed_ = false;
};

bool valid_utf8(std::string_view text);

class Decoder {
public:
    // What the decoder reports, in the order the frames came. Views are valid during the call.
    struct Events {
        virtual ~Events() = default;
        // A whole text (checked UTF-8) or binary message.
        virtual void on_message(bool binary, std::string_view payload) = 0;
        virtual void on_ping(std::string_view payload) = 0;
        virtual void on_pong(std::string_view /*payload*/) {}
        // The client's close: its code (close_code::no_status when it sent none) and reason,
        // both checked. The decoder reads nothing after it.
        virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
    };

    // max_message: the largest message taken, over all its fragments; one that announces
    // more fails with close_code::too_large before its payload is read.
    explicit Decoder(std::size_t max_message) : max_message_(max_message) {}

    // Decodes data (unmasking it in place). Returns 0, or the close code the connection must
    // fail with (failure() says why); after a failure or the client's close every later
    // call returns that code again, or 0 after a close, and reads nothing.
    std::uint16_t feed(char* data, std::size_t size, Events& events);

    std::uint16_t failed() const { return failed_; }
    std::string_view failure() const { return failure_; }  // why, for the close reason
    bool closed() const { return closed_; }  // the client's close came
    // Bytes held for a message arriving in pieces (its capacity when idle is given back).
    std::size_t buffered() const { return message_.capacity(); }

private:
    std::uint16_t fail(std::uint16_t code, const char* why);  // why: a literal
    // The frame header in header_ is complete: checks it; 0 or the close code.
    std::uint16_t begin_frame();
    std::uint16_t end_frame(Events& events);
    std::uint16_t end_control(Events& events);
    void unmask(char* data, std::size_t size);

    std::size_t max_message_;
    unsigned char header_[14] = {};   // the frame header as it arrives
    std::size_t header_size_ = 0;     // of header_, the bytes in
    bool in_payload_ = false;         // the header is done; payload_left_ bytes follow
    bool fin_ = false;                // of the current frame
    Opcode opcode_ = Opcode::continuation;  // of the current frame
    std::uint64_t payload_left_ = 0;
    unsigned char mask_[4] = {};
    std::size_t mask_at_ = 0;         // payload bytes unmasked so far, modulo 4
    bool message_open_ = false;       // a text or binary message has begun and not ended
    bool message_binary_ = false;
    std::size_t message_size_ = 0;    // its bytes so far (all frames)
    std::string message_;             // its bytes, when it does not arrive in one piece
    Utf8Check utf8_;                  // over the text message so far
    unsigned char control_[kMaxControlPayload] = {};  // a control frame's payload
    std::size_t control_size_ = 0;
    std::uint16_t failed_ = 0;        // the close code of a failure; 0: none
    const char* failure_ = "";      // a literal
    bool closed_ = false;
};

}  // namespace adashta::edge::ws
