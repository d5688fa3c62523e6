// The client side of the RFC 6455 opening handshake: the HTTP upgrade request, and the check
// of the server's answer (status 101 and the Sec-WebSocket-Accept value for our key).
//
//   std::string key = make_ws_key(seed);                  // 24 base64 characters
//   out += upgrade_request(url, key);
//   ...
//   UpgradeAnswer a = read_upgrade_answer(input, key);
//   if (a.status == UpgradeAnswer::incomplete) wait for more input;
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "url.hpp"

// A fresh Sec-WebSocket-Key: 16 pseudo-random bytes from seed, base64-encoded.
std::string make_ws_key(uint64_t seed);

// The GET request that asks url's server to upgrade to WebSocket with key.
std::string upgrade_request(const Url& url, std::string_view key);

struct UpgradeAnswer {
    enum Status { incomplete, accepted, refused } status = incomplete;
    std::size_t header_bytes = 0;  // accepted: bytes of the HTTP head (frames may follow)
    std::string reason;            // refused: what was wrong, for a log line
};

// Looks at the start of the server's answer. incomplete until the blank line has arrived.
UpgradeAnswer read_upgrade_answer(std::string_view input, std::string_view key);
