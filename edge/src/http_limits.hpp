// How long a request line and headers may be, and the answers past the limits.
//
// libwebsockets 4.1 parses a request into one header table of max_http_header_data bytes
// (4096 here). A header that does not fit makes lws_parse() fail and the connection is
// closed with no answer, before any callback runs (lib/roles/http/parsers.c: issue_char()
// and the WSI_TOKEN_UNKNOWN_VALUE_PART state return -1 when lws_pos_in_bounds() finds the
// table full; lws_read_h1 then closes). So 431 Request Header Fields Too Large cannot be
// sent for headers past the table without patching lws: those requests are dropped.
//
// The request URI can be answered, though: lws_token_limits caps each token, and a token
// that reaches its cap is cut there and the rest of it skipped instead of failing. The URI
// tokens are capped at kMaxRequestUri, so a longer URI arrives cut to exactly that length,
// which on_http answers 414 URI Too Long.
//
//   info.token_limits = &request_token_limits();  // lws_context_creation_info, before create
//   if (uri_too_long(wsi)) answer 414;            // LWS_CALLBACK_HTTP
#pragma once

#include <cstddef>

struct lws;
struct lws_token_limits;

namespace adashta::edge {

// The longest request URI (path and query) served; one this long or longer gets 414.
constexpr std::size_t kMaxRequestUri = 2048;

// Every token capped at header_table_bytes (what lws caps them at without limits), the
// method URIs at kMaxRequestUri. The table lives as long as the program.
const lws_token_limits& request_token_limits(std::size_t header_table_bytes);

// Whether the request's URI, path and query, reached kMaxRequestUri (a longer one was cut at
// its token limit). A query of many short arguments (a&b&...) is not cut: past the header
// table it is dropped like any header.
bool uri_too_long(lws* wsi);

}  // namespace adashta::edge
