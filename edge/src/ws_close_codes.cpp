#include "ws_close_codes.hpp"

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

}  // namespace adashta::edge
