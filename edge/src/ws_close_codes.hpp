// The close frames a client may send (RFC 6455 §5.5.1 and §7.4). The WebSocket decoder
// (ws_frames.hpp) answers any other with 1002.
//
//   if (!close_payload_valid(payload, len)) answer_with_protocol_error();
#pragma once

#include <cstddef>
#include <cstdint>


namespace adashta::edge {

// A close code a peer may send: 1000-1003, 1007-1011 (RFC 6455 §7.4.1 and the IANA registry
// as Autobahn checks it), 3000-4999 (registered and private use). 1005, 1006 and 1015 are
// never sent on the wire.
bool close_code_valid(std::uint16_t code);

// The payload of a close frame (code and reason; the reason's UTF-8 is checked apart): empty,
// or two bytes or more whose code passes close_code_valid.
bool close_payload_valid(const unsigned char* payload, std::size_t len);


}  // namespace adashta::edge
