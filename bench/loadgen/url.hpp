// ws:// and nats:// URLs, resolved once to an IPv4 socket address.
//
//   std::string error;
//   auto url = parse_url("ws://127.0.0.1:8080/ws", "ws", error);
//   if (!url) { std::cerr << error; }
//   connect(fd, url->sockaddr(), sizeof(sockaddr_in));
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct Url {
    std::string text;    // as given, for messages
    std::string host;    // host part, sent in the Host header
    uint16_t port = 0;   // TCP port
    std::string path;    // path and query, "/" at least
    sockaddr_in addr{};  // resolved address (IPv4 only: the benchmarks run on loopback)

    const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

// Parses SCHEME://HOST[:PORT][/PATH]. Returns nullopt and sets error when the scheme differs,
// the port is bad, or the host does not resolve to IPv4.
std::optional<Url> parse_url(std::string_view text, std::string_view scheme, std::string& error);
