#include "http_request.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>

namespace adashta::edge {

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equal_nocase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// RFC 9110 5.6.2 tchar.
bool is_token_char(char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
    for (const auto& [key, value] : headers)
        if (equal_nocase(key, name)) return &value;
    return nullptr;
}

bool HttpRequest::header_has_token(std::string_view name, std::string_view token) const {
    for (const auto& [key, value] : headers) {
        if (!equal_nocase(key, name)) continue;
        std::string_view rest = value;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            if (equal_nocase(trim(rest.substr(0, comma)), token)) return true;
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    return false;
}

std::string_view HttpRequest::path() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
}

bool HttpRequest::keep_alive() const {
    if (header_has_token("Connection", "close")) return false;
    return minor >= 1 || header_has_token("Connection", "keep-alive");
}

bool HttpRequest::wants_websocket() const {
    return header_has_token("Upgrade", "websocket") && header_has_token("Connection", "upgrade");
}

void HttpRequestParser::reset() {
    state_ = State::request_line;
    head_.clear();
    header_bytes_ = 0;
    body_left_ = 0;
    body_asked_ = false;
    request_ = {};
    error_status_ = 0;
    error_detail_.clear();
}

std::size_t HttpRequestParser::fail(int status, std::string detail, std::size_t used) {
    state_ = State::failed;
    error_status_ = status;
    error_detail_ = std::move(detail);
    head_ = {};
    return used;
}

bool HttpRequestParser::parse_request_line(std::string_view line) {
    const auto first = line.find(' ');
    const auto last = line.rfind(' ');
    if (first == std::string_view::npos || first == last) {
        fail(400, "bad request line: want METHOD TARGET HTTP/1.1", 0);
        return false;
    }
    const std::string_view method = line.substr(0, first);
    const std::string_view target = line.substr(first + 1, last - first - 1);
    const std::string_view version = line.substr(last + 1);
    if (!is_token(method)) {
        fail(400, "bad request line: the method is not a token", 0);
        return false;
    }
    if (target.empty() || target.find(' ') != std::string_view::npos ||
        (target.front() != '/' && target != "*")) {
        fail(400, "bad request line: the target must be a path (origin-form)", 0);
        return false;
    }
    if (target.size() >= kMaxRequestUri) {
        fail(414, "URI too long: at most " + std::to_string(kMaxRequestUri - 1) +
                      " bytes of path and query", 0);
        return false;
    }
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
        fail(400, "bad request line: the version must be HTTP/1.1", 0);
        return false;
    }
    if (version[5] != '1') {
        fail(505, "this server speaks HTTP/1.1 (and 1.0)", 0);
        return false;
    }
    request_.method = method;
    request_.target = target;
    request_.minor = version[7] - '0';
    return true;
}

bool HttpRequestParser::parse_header(std::string_view line) {
    if (line.front() == ' ' || line.front() == '\t') {
        fail(400, "obsolete header line folding is not accepted", 0);
        return false;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
        fail(400, "bad header line: want Name: value", 0);
        return false;
    }
    const std::string_view value = trim(line.substr(colon + 1));
    for (char c : value)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
            fail(400, "bad header value: control characters", 0);
            return false;
        }
    request_.headers.emplace_back(line.substr(0, colon), value);
    return true;
}

bool HttpRequestParser::read_body(std::size_t max_bytes) {
    if (state_ != State::done || body_asked_) return state_ != State::failed;
    body_asked_ = true;
    if (request_.header("Transfer-Encoding")) {
        fail(411, "send the body with a Content-Length (Transfer-Encoding is not accepted here)", 0);
        return false;
    }
    std::optional<std::uint64_t> length;
    for (const auto& [key, value] : request_.headers) {
        if (!equal_nocase(key, "Content-Length")) continue;
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (value.empty() || ec != std::errc{} || end != value.data() + value.size() ||
            (length && *length != n)) {
            fail(400, "bad Content-Length: want one number of bytes", 0);
            return false;
        }
        length = n;
    }
    if (!length || *length == 0) return true;
    if (*length > max_bytes) {
        fail(413, "request body too large: at most " + std::to_string(max_bytes) + " bytes (" +
                      std::to_string(max_bytes >> 10) + " KiB)", 0);
        return false;
    }
    body_left_ = static_cast<std::size_t>(*length);
    request_.body.reserve(body_left_);
    state_ = State::body;
    return true;
}

std::size_t HttpRequestParser::feed(const char* data, std::size_t size) {
    if (state_ == State::body) {
        const std::size_t take = std::min(size, body_left_);
        request_.body.append(data, take);
        body_left_ -= take;
        if (body_left_ == 0) state_ = State::done;
        return take;
    }
    std::size_t at = 0;
    while (at < size && (state_ == State::request_line || state_ == State::headers)) {
        const char* newline = static_cast<const char*>(std::memchr(data + at, '\n', size - at));
        const std::size_t piece = newline ? static_cast<std::size_t>(newline - (data + at)) + 1
                                          : size - at;
        // The limits count what came, before it is kept.
        const std::size_t line_size = head_.size() + piece;
        if (state_ == State::request_line) {
            if (line_size > limits_.max_request_line + 2)
                return fail(414, "URI too long: at most " + std::to_string(kMaxRequestUri - 1) +
                                     " bytes of path and query", at + piece);
        } else if (header_bytes_ + line_size > limits_.max_header_bytes) {
            return fail(431, "request headers too large: at most " +
                                 std::to_string(limits_.max_header_bytes) + " bytes",
                        at + piece);
        }
        head_.append(data + at, piece);
        at += piece;
        if (!newline) break;
        std::string_view line = head_;
        line.remove_suffix(1);  // \n
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (state_ == State::request_line) {
            // RFC 9112 2.2: empty lines before the request line are ignored.
            if (!line.empty()) {
                if (!parse_request_line(line)) return at;
                state_ = State::headers;
            } else if ((header_bytes_ += head_.size()) > limits_.max_header_bytes) {
                return fail(400, "only empty lines where the request line should be", at);
            }
        } else if (line.empty()) {
            state_ = State::done;
        } else {
            header_bytes_ += head_.size();
            if (!parse_header(line)) return at;
        }
        head_.clear();
    }
    return at;
}

}  // namespace adashta::edge
