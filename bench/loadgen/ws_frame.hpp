// WebSocket frames (RFC 6455 section 5) as a client sends and reads them.
//
//   append_client_frame(out, ws_opcode::text, "{\"type\":\"hello\"}", mask);
//   WsFrame f;
//   std::ptrdiff_t used = parse_server_frame(data, size, f, max_payload);
//   if (used > 0) handle(f);   // 0: need more bytes; < 0: protocol error
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ws_opcode {
constexpr uint8_t continuation = 0x0;
constexpr uint8_t text = 0x1;
constexpr uint8_t binary = 0x2;
constexpr uint8_t close = 0x8;
constexpr uint8_t ping = 0x9;
constexpr uint8_t pong = 0xA;
}  // namespace ws_opcode

// Appends one final (FIN) frame with payload masked by mask (client frames must be masked).
void append_client_frame(std::string& out, uint8_t opcode, std::string_view payload, uint32_t mask);

// The bytes append_client_frame() writes for a payload of this size.
std::size_t client_frame_size(std::size_t payload_size);

struct WsFrame {
    uint8_t opcode = 0;        // ws_opcode::*
    bool fin = false;          // last frame of its message
    std::string_view payload;  // unmasked, points into the parsed buffer
};

// Parses one frame at data. Returns its total size, 0 when more bytes are needed, -1 when the
// frame is malformed or its payload exceeds max_payload. A masked frame (servers should not
// send one) is unmasked in place, hence the mutable buffer.
std::ptrdiff_t parse_server_frame(char* data, std::size_t size, WsFrame& frame,
                                  std::size_t max_payload);
