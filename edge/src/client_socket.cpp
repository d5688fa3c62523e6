#include "client_socket.hpp"

#include <fcntl.h>
#include <libwebsockets.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cstring>

namespace adashta::edge {

static_assert(LWS_PRE >= ws::kMaxServerHeader, "a frame header fits in front of the payload");

namespace {

// One read of a file being sent; the socket buffers at most this much beyond the kernel's.
constexpr std::size_t kFileChunk = 16 << 10;

std::string_view status_text(int status) {
    switch (status) {
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 401: return "Unauthorized";
        case 409: return "Conflict";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        case 301: return "Moved Permanently";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 426: return "Upgrade Required";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
    }
}

void append_head(std::string& out, int status, std::string_view content_type,
                 std::uint64_t content_length, std::string_view extra_headers, bool close,
                 bool keep_alive_1_0) {
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += status_text(status);
    out += "\r\nServer: adashta\r\nContent-Type: ";
    out += content_type;
    out += "\r\n";
    if (status != 204) {  // RFC 9110 8.6: a 204 has no Content-Length
        out += "Content-Length: ";
        out += std::to_string(content_length);
        out += "\r\n";
    }
    out += extra_headers;
    if (close)
        out += "Connection: close\r\n";
    else if (keep_alive_1_0)
        out += "Connection: keep-alive\r\n";
    out += "\r\n";
}

}  // namespace

// The decoder's reports, turned into the socket's work.
struct ClientSocket::Events final : ws::Decoder::Events {
    explicit Events(ClientSocket& socket) : s(socket) {}
    void on_message(bool binary, std::string_view payload) override {
        if (!s.close_code_) s.handler_.on_message(s, binary, payload);
    }
    void on_ping(std::string_view payload) override {
        if (s.close_sent_) return;
        if (s.control_.size() > kMaxPongBytes) {
            s.fail(ws::close_code::policy, "slow_consumer: pongs not read");
            return;
        }
        ws::append_frame(s.control_, ws::Opcode::pong, payload);
        s.request_writeable();
    }
    void on_pong(std::string_view) override { s.pinged_ = false; }
    void on_close(std::uint16_t code, std::string_view) override {
        s.peer_closed_ = true;
        if (s.close_code_) return;  // ours was first: theirs answers it
        // Echoed: the same code, or a plain close for one without a code.
        const std::uint16_t echo =
            code == ws::close_code::no_status ? ws::close_code::normal : code;
        s.handler_.on_closing(s, echo, false);
        s.close(echo, "");
    }
    ClientSocket& s;
};

namespace {
std::atomic<std::uint64_t> next_socket_id{1};
}  // namespace

ClientSocket::ClientSocket(lws* wsi, SocketHandler& handler, Clock::time_point now)
    : wsi_(wsi),
      handler_(handler),
      id_(next_socket_id.fetch_add(1, std::memory_order_relaxed)),
      last_read_(now),
      http_(std::make_unique<Http>(now)) {}

int ClientSocket::receive(char* data, std::size_t size) {
    if (broken_) return -1;
    if (!read_before_) {
        // By the first bytes lws has done the TLS handshake, or found plain HTTP on the TLS
        // port (at RAW_ADOPT it may not know yet). Its handshake timeout ends here: the edge
        // keeps its own (sweep()).
        read_before_ = true;
        tls_ = lws_is_ssl(wsi_) != 0;
        lws_set_timeout(wsi_, NO_PENDING_TIMEOUT, 0);
    }
    last_read_ = Clock::now();
    pinged_ = false;  // anything read shows the client is there
    return take(data, size);
}

int ClientSocket::take(char* data, std::size_t size) {
    while (size > 0) {
        if (upgraded()) return take_frames(data, size);
        if (http_->lingering) return 0;
        if (http_->answering) {
            // A request after the one being answered: it waits (and so does the socket).
            http_->pending.append(data, size);
            if (!reading_paused_) lws_rx_flow_control(wsi_, 0);
            return 0;
        }
        serve_request(data, size);
    }
    return broken_ ? -1 : 0;
}

void ClientSocket::serve_request(char*& data, std::size_t& size) {
    const std::size_t used = http_->parser.feed(data, size);
    data += used;
    size -= used;
    // A body the handler takes (the plugin routes) is read whole before on_request.
    if (http_->parser.done() && !http_->parser.body_asked())
        if (const std::size_t max = handler_.max_body(http_->parser.request()); max > 0)
            http_->parser.read_body(max);
    if (http_->parser.failed()) {
        respond(http_->parser.error_status(), "text/plain; charset=utf-8",
                http_->parser.error_detail() + "\n", {}, true);
        size = 0;  // the rest is read and dropped (lingering)
        return;
    }
    if (!http_->parser.done()) return;
    const HttpRequest& request = http_->parser.request();
    http_->head_only = request.method == "HEAD";
    http_->close_after = !request.keep_alive();
    handler_.on_request(*this, request);
    assert((upgraded() || http_->answering) && "on_request answers every request");
    // The request (which on_request saw by reference) is not needed any more.
    if (upgraded()) http_.reset();
}

// --- HTTP answers ------------------------------------------------------------------------------

void ClientSocket::respond(int status, std::string_view content_type, std::string_view body,
                           std::string_view extra_headers, bool close) {
    assert((!http_->answering || http_->deferred) && !upgraded());
    http_->deferred = false;
    if (close) http_->close_after = true;
    const HttpRequest& request = http_->parser.request();
    const bool keep_alive_1_0 =
        !http_->close_after && http_->parser.done() && request.minor == 0;
    http_->answer.assign(LWS_PRE, '\0');
    append_head(http_->answer, status, content_type, body.size(), extra_headers,
                http_->close_after,
                keep_alive_1_0);
    if (!http_->head_only) http_->answer += body;
    http_->answering = true;
    request_writeable();
}

bool ClientSocket::respond_file(const std::string& path, std::string_view content_type) {
    assert((!http_->answering || http_->deferred) && !upgraded());
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat info {};
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        return false;
    }
    const auto size = static_cast<std::uint64_t>(info.st_size);
    respond(200, content_type, {}, {}, false);
    // The head says the file's length: respond() wrote 0 for the empty body.
    http_->answer.resize(LWS_PRE);
    append_head(http_->answer, 200, content_type, size, {}, http_->close_after,
                !http_->close_after && http_->parser.request().minor == 0);
    if (http_->head_only || size == 0) {
        ::close(fd);
    } else {
        http_->file = fd;
        http_->file_left = size;
    }
    return true;
}

void ClientSocket::defer_answer() {
    assert(!http_->answering && !upgraded());
    http_->answering = true;
    http_->deferred = true;
}

bool ClientSocket::websocket_key_valid(const HttpRequest& request) {
    const std::string* key = request.header("Sec-WebSocket-Key");
    // 16 bytes in base64: 22 characters and "==".
    if (!key || key->size() != 24 || key->compare(22, 2, "==") != 0) return false;
    for (std::size_t i = 0; i < 22; ++i) {
        const char c = (*key)[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    return true;
}

void ClientSocket::upgrade(Route route, std::size_t max_message, std::string_view subprotocol) {
    assert(!http_->answering && !upgraded() && route != Route::none);
    const HttpRequest& request = http_->parser.request();
    std::string head(LWS_PRE, '\0');
    head += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: ";
    head += ws::accept_key(*request.header("Sec-WebSocket-Key"));
    head += "\r\n";
    if (!subprotocol.empty()) {
        head += "Sec-WebSocket-Protocol: ";
        head += subprotocol;
        head += "\r\n";
    }
    head += "\r\n";
    route_ = route;
    decoder_ = std::make_unique<ws::Decoder>(max_message);
    http_->pending = {};  // http_ goes once on_request returns (serve_request)
    // A new socket's buffer takes it; lws keeps any rest and sends it first.
    if (!write_raw(head.data() + LWS_PRE, head.size() - LWS_PRE)) broken_ = true;
}

int ClientSocket::write_http() {
    if (!http_->answering || http_->deferred) return 0;
    while (!choked()) {
        if (http_->answer.size() > LWS_PRE) {
            const bool ok =
                write_raw(http_->answer.data() + LWS_PRE, http_->answer.size() - LWS_PRE);
            http_->answer = {};
            if (!ok) return -1;
            continue;
        }
        if (http_->file >= 0 && http_->file_left > 0) {
            char chunk[LWS_PRE + kFileChunk];
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(http_->file_left, kFileChunk));
            const ssize_t n = ::read(http_->file, chunk + LWS_PRE, want);
            if (n <= 0) return -1;  // the file shrank or failed: the length said is a lie now
            http_->file_left -= static_cast<std::uint64_t>(n);
            if (!write_raw(chunk + LWS_PRE, static_cast<std::size_t>(n))) return -1;
            continue;
        }
        return finish_answer();
    }
    request_writeable();
    return 0;
}

int ClientSocket::finish_answer() {
    if (http_->file >= 0) ::close(http_->file);
    http_->file = -1;
    http_->file_left = 0;
    http_->answering = false;
    if (http_->close_after) {
        // Over TLS, or with nothing of the client's unread, the close is the end. Else the
        // answer is followed by a FIN, and what the client still sends is read and dropped
        // until it closes (closing with unread bytes would send a reset, which can overtake
        // the answer), or kCloseWaitSeconds pass.
        int unread = 0;
        if (tls_ || (http_->pending.empty() && !http_->parser.failed() &&
                     ioctl(lws_get_socket_fd(wsi_), FIONREAD, &unread) == 0 && unread == 0))
            return -1;
        http_->lingering = true;
        http_->pending = {};
        ::shutdown(lws_get_socket_fd(wsi_), SHUT_WR);
        lws_set_timeout(wsi_, PENDING_TIMEOUT_CLOSE_ACK, kCloseWaitSeconds);
        lws_rx_flow_control(wsi_, 1);
        return 0;
    }
    http_->parser.reset();
    http_->head_only = false;
    http_->waiting_since = Clock::now();  // the next head has kHeaderTimeout from here
    if (!reading_paused_) lws_rx_flow_control(wsi_, 1);
    if (http_->pending.empty()) return 0;
    std::string next = std::move(http_->pending);
    http_->pending.clear();
    return take(next.data(), next.size());
}

// --- WebSocket --------------------------------------------------------------------------------

int ClientSocket::take_frames(char* data, std::size_t size) {
    if (failed_ || decoder_->closed()) {
        // Closing: what still comes is dropped; the client's close (or EOF) ends it.
        return peer_closed_ && close_sent_ ? -1 : 0;
    }
    Events events{*this};
    if (const std::uint16_t code = decoder_->feed(data, size, events))
        fail(code, decoder_->failure());
    if (broken_) return -1;
    // Our close went out and theirs came now: the handshake is done.
    if (peer_closed_ && close_sent_) return -1;
    return 0;
}

void ClientSocket::fail(std::uint16_t code, std::string_view reason) {
    if (failed_) return;
    failed_ = true;
    if (close_code_) return;  // closing already: that close stands
    handler_.on_closing(*this, code, true);
    close(code, reason);
}

bool ClientSocket::write_message(std::string& frame, ws::Opcode opcode) {
    assert(frame.size() >= LWS_PRE);
    char* payload = frame.data() + LWS_PRE;
    const std::size_t size = frame.size() - LWS_PRE;
    char* start = ws::put_header(payload, opcode, size);
    if (write_raw(start, static_cast<std::size_t>(payload + size - start))) return true;
    broken_ = true;
    return false;
}

bool ClientSocket::write_raw(const char* data, std::size_t size) {
    // lws keeps what the kernel did not take and sends it before the next writeable; the
    // return value is then still the whole size.
    auto* bytes = reinterpret_cast<unsigned char*>(const_cast<char*>(data));
    return lws_write(wsi_, bytes, size, LWS_WRITE_RAW) == static_cast<int>(size);
}

bool ClientSocket::choked() const {
    return lws_send_pipe_choked(wsi_) != 0;
}

void ClientSocket::request_writeable() {
    lws_callback_on_writable(wsi_);
}

void ClientSocket::close(std::uint16_t code, std::string_view reason) {
    if (close_code_ || !upgraded()) return;
    close_code_ = code;
    close_reason_ = reason;
    request_writeable();
}

void ClientSocket::pause_reading(bool pause) {
    if (pause == reading_paused_) return;
    reading_paused_ = pause;
    // The silence of a connection we stopped reading is ours, not the client's: its idle
    // clock starts again when reading does.
    if (!pause) {
        last_read_ = Clock::now();
        pinged_ = false;
    }
    if (close_sent_ || (http_ && http_->lingering)) return;  // reading stays on for the close
    lws_rx_flow_control(wsi_, pause ? 0 : 1);
}

int ClientSocket::writeable() {
    if (broken_) return -1;
    if (!upgraded()) return write_http();
    return write_websocket();
}

int ClientSocket::write_websocket() {
    // Pongs first, in the order of their pings.
    if (control_.size() > 0) {
        const bool ok = write_raw(control_.data(), control_.size());
        control_.clear();
        if (!ok) return -1;
    }
    if (close_sent_) return peer_closed_ ? -1 : 0;
    const bool idle = handler_.on_writeable(*this);
    if (broken_) return -1;
    if (!idle || !close_code_) return 0;
    if (choked()) {
        request_writeable();
        return 0;
    }
    std::string frame;
    ws::append_frame(frame, ws::Opcode::close, ws::close_payload(close_code_, close_reason_));
    if (!write_raw(frame.data(), frame.size())) return -1;
    close_sent_ = true;
    if (peer_closed_) return -1;  // theirs came first: ours answers it, and TCP ends
    lws_set_timeout(wsi_, PENDING_TIMEOUT_CLOSE_ACK, kCloseWaitSeconds);
    lws_rx_flow_control(wsi_, 1);  // reading finds the client's close
    // A client that broke the protocol is not waited for: FIN after our close (not over
    // TLS, whose close_notify lws sends at the end).
    if (failed_ && !tls_ && !choked()) ::shutdown(lws_get_socket_fd(wsi_), SHUT_WR);
    return 0;
}

void ClientSocket::closed() {
    if (http_ && http_->file >= 0) ::close(http_->file);
    if (http_) http_->file = -1;
    if (upgraded()) handler_.on_closed(*this);
}

void ClientSocket::kill() {
    lws_set_timeout(wsi_, PENDING_TIMEOUT_CLOSE_ACK, LWS_TO_KILL_ASYNC);
}

void ClientSocket::sweep(Clock::time_point now) {
    if (!upgraded()) {
        // A request head that takes too long (however slowly its bytes trickle in), or a
        // kept-alive connection idle that long.
        if (!http_->answering && !http_->lingering && now - http_->waiting_since > kHeaderTimeout)
            kill();
        return;
    }
    const auto silent = now - last_read_;
    if (close_code_) return;  // the close has its own timeout
    // Paused for its produces (http_budgets.cpp), the client cannot be heard: its pongs wait
    // unread. It is not idle, and the store's answers resume it.
    if (reading_paused_) return;
    if (silent > kIdleDrop) return kill();
    if (silent > kIdlePing && !pinged_) {
        pinged_ = true;
        ws::append_frame(control_, ws::Opcode::ping, {});
        request_writeable();
    }
}

}  // namespace adashta::edge
