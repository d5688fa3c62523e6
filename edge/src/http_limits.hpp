// How long a request line and headers may be, how long a client may take to send them, and
// the answers past the limits. The edge parses requests itself (http_request.hpp), so each
// limit gets its own answer before the bytes past it are kept:
//   - a request target (path and query) of kMaxRequestUri bytes or more: 414 URI Too Long;
//   - header lines past kMaxHeaderBytes together: 431 Request Header Fields Too Large;
//   - a request head not finished within kHeaderTimeout (a slow or stalled client), and a
//     kept-alive connection idle that long between requests: closed.
#pragma once

#include <chrono>
#include <cstddef>

namespace adashta::edge {

// The longest request URI (path and query) served; one this long or longer gets 414.
constexpr std::size_t kMaxRequestUri = 2048;
// The request's header lines together, with their line ends (max_http_header_data before
// the edge parsed requests itself).
constexpr std::size_t kMaxHeaderBytes = 4096;
// How long a request head may take to arrive, and a kept-alive connection may sit idle.
constexpr std::chrono::seconds kHeaderTimeout{10};

}  // namespace adashta::edge
