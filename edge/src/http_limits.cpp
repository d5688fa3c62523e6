#include "http_limits.hpp"

#include <libwebsockets.h>

#include <algorithm>
#include <iterator>

namespace adashta::edge {

namespace {

// The tokens that carry a request's URI, one per method lws knows.
constexpr lws_token_indexes kUriTokens[] = {
    WSI_TOKEN_GET_URI,   WSI_TOKEN_POST_URI,   WSI_TOKEN_OPTIONS_URI, WSI_TOKEN_PUT_URI,
    WSI_TOKEN_PATCH_URI, WSI_TOKEN_DELETE_URI, WSI_TOKEN_CONNECT,     WSI_TOKEN_HEAD_URI,
};

}  // namespace

const lws_token_limits& request_token_limits(std::size_t header_table_bytes) {
    static lws_token_limits limits = [&] {
        lws_token_limits l{};
        const auto all =
            static_cast<unsigned short>(std::min<std::size_t>(header_table_bytes, 65535));
        std::fill(std::begin(l.token_limit), std::end(l.token_limit), all);
        for (auto token : kUriTokens)
            l.token_limit[token] = static_cast<unsigned short>(kMaxRequestUri);
        return l;
    }();
    return limits;
}

bool uri_too_long(lws* wsi) {
    int length = 0;
    for (auto token : kUriTokens) length += std::max(0, lws_hdr_total_length(wsi, token));
    // The query (after '?') is a token of its own, cut at the same limit as the path.
    length += std::max(0, lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS));
    return length >= static_cast<int>(kMaxRequestUri);
}

}  // namespace adashta::edge
