// The edge's HTTP/1.1 request-head parser (edge/src/http_request.cpp): the first bytes of
// every browser connection. Whatever the bytes, the parser keeps within its limits (a target
// under kMaxRequestUri, at most max_header_bytes of headers), fails only with 400, 414, 431 or
// 505 and a detail, and gives the same answer whether the bytes come at once or in pieces.
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "http_request.hpp"

namespace edge = adashta::edge;

namespace {

struct Outcome {
    int status = 0;   // 0: done, -1: incomplete, else the error status
    std::size_t taken = 0;
    edge::HttpRequest request;
};

Outcome parse(const std::string& bytes, std::size_t piece) {
    edge::HttpRequestParser parser{{.max_header_bytes = 1024}};
    Outcome out;
    for (std::size_t at = 0; at < bytes.size() && !parser.done() && !parser.failed(); at += piece)
        out.taken += parser.feed(bytes.data() + at, std::min(piece, bytes.size() - at));
    FUZZ_CHECK(out.taken <= bytes.size());
    if (parser.failed()) {
        out.status = parser.error_status();
        FUZZ_CHECK(out.status == 400 || out.status == 414 || out.status == 431 ||
                   out.status == 505);
        FUZZ_CHECK(!parser.error_detail().empty());
    } else if (parser.done()) {
        const edge::HttpRequest& r = parser.request();
        FUZZ_CHECK(!r.method.empty() && !r.target.empty());
        FUZZ_CHECK(r.target.size() < edge::kMaxRequestUri);
        std::size_t header_bytes = 0;
        for (const auto& [name, value] : r.headers) header_bytes += name.size() + value.size();
        FUZZ_CHECK(header_bytes <= 1024);
        out.request = r;
    } else {
        out.status = -1;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t piece = 1 + data[0] % 13;
    const std::string bytes{reinterpret_cast<const char*>(data) + 1, size - 1};
    const Outcome whole = parse(bytes, bytes.size() + 1);
    const Outcome pieces = parse(bytes, piece);
    FUZZ_CHECK(whole.status == pieces.status);
    if (whole.status == 0) {
        FUZZ_CHECK(whole.taken == pieces.taken);
        FUZZ_CHECK(whole.request.method == pieces.request.method);
        FUZZ_CHECK(whole.request.target == pieces.request.target);
        FUZZ_CHECK(whole.request.headers == pieces.request.headers);
    }
    return 0;
}
