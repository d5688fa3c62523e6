// SHA-1 (FIPS 180-4) and base64 (RFC 4648): just enough to compute and check a WebSocket
// Sec-WebSocket-Accept value. Not for security.
//
//   auto digest = sha1(key + guid);
//   std::string accept = base64(digest.data(), digest.size());
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

std::array<uint8_t, 20> sha1(std::string_view data);
std::string base64(const uint8_t* data, std::size_t size);
