// An incremental HTTP/1.1 request-head parser (RFC 9112), for the edge's browser listener:
// the request line and headers, as they come off the socket in pieces of any size, with
// limits decided as the bytes arrive, never after an unbounded read:
//   - a request line past max_request_line, or a target of kMaxRequestUri bytes or more: 414;
//   - a header block past max_header_bytes (max_http_header_data, http_limits.hpp): 431;
//   - anything malformed: 400; an HTTP version other than 1.0 and 1.1: 505.
// A body is read only when the caller asks, after the head (read_body, for the plugin routes
// under /plugins/): a Content-Length body up to a cap, all of it before done() (411 for
// Transfer-Encoding, 413 past the cap, 400 for a bad or conflicting Content-Length). Other
// requests that announce a body are answered by the edge (405, 413) and the connection closes.
//
//   HttpRequestParser parser{{.max_header_bytes = 4096}};
//   std::size_t used = parser.feed(data, size);     // what it took of data
//   if (parser.done() && !parser.body_asked() && may_have_body(parser.request()))
//       parser.read_body(1 << 20);                  // then feed on until done() again
//   if (parser.done()) serve(parser.request());     // bytes past `used` are the next request
//   else if (parser.failed()) answer(parser.error_status(), parser.error_detail());
//   parser.reset();                                 // for the next request (keep-alive)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http_limits.hpp"

namespace adashta::edge {

struct HttpRequest {
    std::string method;   // as sent (methods are case-sensitive): "GET", "HEAD", ...
    std::string target;   // origin-form: path and query, "/ws?x=1"
    int minor = 1;        // HTTP/1.minor
    std::vector<std::pair<std::string, std::string>> headers;  // in order; values trimmed
    std::string body;     // read only after read_body(); "" otherwise

    // The first header of that name (case-insensitive), or nullptr.
    const std::string* header(std::string_view name) const;
    // Whether the comma-separated header name holds token (both case-insensitive), as
    // Connection: keep-alive, Upgrade.
    bool header_has_token(std::string_view name, std::string_view token) const;
    std::string_view path() const;  // target up to '?'
    // Whether the connection stays open after the answer: HTTP/1.1 unless "Connection:
    // close", HTTP/1.0 only with "Connection: keep-alive".
    bool keep_alive() const;
    // A WebSocket upgrade asked for: Upgrade: websocket and Connection: upgrade.
    bool wants_websocket() const;
};

struct HttpParserLimits {
    std::size_t max_request_line = kMaxRequestUri + 64;  // method, target, version
    std::size_t max_header_bytes = 4096;                 // the header lines together
};

class HttpRequestParser {
public:
    explicit HttpRequestParser(HttpParserLimits limits = {}) : limits_(limits) {}

    // Takes bytes of the request head from data; returns how many it took (all of them
    // until the head ends; then the rest belongs to what follows it).
    std::size_t feed(const char* data, std::size_t size);
    bool done() const { return state_ == State::done; }
    // After the head (done()): reads a Content-Length body of at most max_bytes into
    // request().body; done() turns false until all of it came. False (and failed()): 411 for
    // Transfer-Encoding (send Content-Length), 413 past max_bytes (naming it), 400 for a
    // Content-Length that is not a number or two that differ. Asked once per request.
    bool read_body(std::size_t max_bytes);
    bool body_asked() const { return body_asked_; }  // read_body() was called for this request
    bool failed() const { return state_ == State::failed; }
    bool started() const { return !head_.empty() || state_ != State::request_line; }
    int error_status() const { return error_status_; }       // when failed(): 400, 414, ...
    const std::string& error_detail() const { return error_detail_; }  // for the answer body
    const HttpRequest& request() const { return request_; }  // when done()
    void reset();  // the next request on the connection

private:
    enum class State { request_line, headers, body, done, failed };
    std::size_t fail(int status, std::string detail, std::size_t used);
    bool parse_request_line(std::string_view line);
    bool parse_header(std::string_view line);

    HttpParserLimits limits_;
    State state_ = State::request_line;
    std::string head_;          // the current line so far
    std::size_t header_bytes_ = 0;  // header lines taken, with their line ends
    std::size_t body_left_ = 0;     // State::body: bytes still to come
    bool body_asked_ = false;       // read_body() was called for this request
    HttpRequest request_;
    int error_status_ = 0;
    std::string error_detail_;
};

}  // namespace adashta::edge
