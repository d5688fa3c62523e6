// The close frames a client may send (RFC 6455 §5.5.1 and §7.4), checked where libwebsockets
// 4.1 does not: lws answers a close whose code is 1004-1006, 1012-1015, 1016-2999 or below
// 1000 with 1002 itself (lib/roles/ws/ops-ws.c, lws_ws_rx_sm, before
// LWS_CALLBACK_WS_PEER_INITIATED_CLOSE), but echoes any code of 5000 and above, and a one-byte
// payload, back to the client as if it were valid.
//
//   if (!close_payload_valid(payload, len)) answer_with_protocol_error();
#pragma once

#include <cstddef>
#include <cstdint>

struct lws;

namespace adashta::edge {

// A close code a peer may send: 1000-1003, 1007-1011 (RFC 6455 §7.4.1 and the IANA registry
// as Autobahn checks it), 3000-4999 (registered and private use). 1005, 1006 and 1015 are
// never sent on the wire.
bool close_code_valid(std::uint16_t code);

// The payload of a close frame (code and UTF-8 reason; lws checks the reason's UTF-8): empty,
// or two bytes or more whose code passes close_code_valid.
bool close_payload_valid(const unsigned char* payload, std::size_t len);

// LWS_CALLBACK_WS_PEER_INITIATED_CLOSE's check, its return value the callback's. A valid close
// is left to lws, which echoes it (0). One with an invalid code gets 1002 written over the
// code in lws' own receive buffer, which lws then echoes with its usual handshake, as it does
// for the codes it knows are invalid (0). A one-byte close has no code to replace: it is
// answered 1002 through lws_close_reason and the connection ended (-1).
int check_peer_close(lws* wsi, void* payload, std::size_t len);

}  // namespace adashta::edge
