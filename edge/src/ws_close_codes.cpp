#include "ws_close_codes.hpp"

#include <libwebsockets.h>

namespace adashta::edge {

bool close_code_valid(std::uint16_t code) {
    if (code >= 1000 && code <= 1003) return true;
    if (code >= 1007 && code <= 1011) return true;
    return code >= 3000 && code <= 4999;
}

bool close_payload_valid(const unsigned char* payload, std::size_t len) {
    if (len == 0) return true;
    if (len == 1) return false;  // half a code
    return close_code_valid(static_cast<std::uint16_t>((payload[0] << 8) | payload[1]));
}

int check_peer_close(lws* wsi, void* payload, std::size_t len) {
    auto* bytes = static_cast<unsigned char*>(payload);
    if (close_payload_valid(bytes, len)) return 0;
    if (len >= 2) {
        bytes[0] = static_cast<unsigned char>(LWS_CLOSE_STATUS_PROTOCOL_ERR >> 8);
        bytes[1] = static_cast<unsigned char>(LWS_CLOSE_STATUS_PROTOCOL_ERR & 0xff);
        return 0;
    }
    static constexpr char kReason[] = "bad close frame";
    lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
                     reinterpret_cast<unsigned char*>(const_cast<char*>(kReason)),
                     sizeof kReason - 1);
    return -1;
}

}  // namespace adashta::edge
