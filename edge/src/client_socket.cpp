#include "client_socket.hpp"

#include <fcntl.h>
#include <libwebsockets.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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
    out += "\r\nContent-Length: ";
    out += std::to_string(content_length);
    out += "\r\n";
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

ClientSocket::ClientSocket(lws* wsi, SocketHandler& handler, Clock::time_point now)
    : wsi_(wsi),
      handler_(handler),
      last_read_(now),
      waiting_since_(now),
      parser_({.max_request_line = kMaxRequestUri + 64, .max_header_bytes = kMaxHeaderBytes}) {}

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
        if (lingering_) return 0;
        if (answering_) {
            // A request after the one being answered: it waits (and so does the socket).
            pending_.append(data, size);
            if (!reading_paused_) lws_rx_flow_control(wsi_, 0);
            return 0;
        }
        serve_request(data, size);
    }
    return broken_ ? -1 : 0;
}

void ClientSocket::serve_request(char*& data, std::size_t& size) {
    const std::size_t used = parser_.feed(data, size);
    data += used;
    size -= used;
    if (parser_.failed()) {
        respond(parser_.error_status(), "text/plain; charset=utf-8", parser_.error_detail() + "\n",
                {}, true);
        size = 0;  // the rest is read and dropped (lingering)
        return;
    }
    if (!parser_.done()) return;
    const HttpRequest& request = parser_.request();
    head_only_ = request.method == "HEAD";
    close_after_ = !request.keep_alive();
    handler_.on_request(*this, request);
    assert((answering_ || upgraded()) && "on_request answers every request");
}

// --- HTTP answers ------------------------------------------------------------------------------

void ClientSocket::respond(int status, std::string_view content_type, std::string_view body,
                           std::string_view extra_headers, bool close) {
    assert(!answering_ && !upgraded());
    if (close) close_after_ = true;
    const HttpRequest& request = parser_.request();
    const bool keep_alive_1_0 = !close_after_ && parser_.done() && request.minor == 0;
    answer_.assign(LWS_PRE, '\0');
    append_head(answer_, status, content_type, body.size(), extra_headers, close_after_,
                keep_alive_1_0);
    if (!head_only_) answer_ += body;
    answering_ = true;
    request_writeable();
}

bool ClientSocket::respond_file(const std::string& path, std::string_view content_type) {
    assert(!answering_ && !upgraded());
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
    answer_.resize(LWS_PRE);
    append_head(answer_, 200, content_type, size, {}, close_after_,
                !close_after_ && parser_.request().minor == 0);
    if (head_only_ || size == 0) {
        ::close(fd);
    } else {
        file_ = fd;
        file_left_ = size;
    }
    return true;
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
    assert(!answering_ && !upgraded() && route != Route::none);
    const HttpRequest& request = parser_.request();
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
    parser_ = HttpRequestParser{};  // its buffers are not needed any more
    pending_ = {};
    // A new socket's buffer takes it; lws keeps any rest and sends it first.
    if (!write_raw(head.data() + LWS_PRE, head.size() - LWS_PRE)) broken_ = true;
}

int ClientSocket::write_http() {
    if (!answering_) return 0;
    while (!choked()) {
        if (answer_.size() > LWS_PRE) {
            const bool ok = write_raw(answer_.data() + LWS_PRE, answer_.size() - LWS_PRE);
            answer_ = {};
            if (!ok) return -1;
            continue;
        }
        if (file_ >= 0 && file_left_ > 0) {
            char chunk[LWS_PRE + kFileChunk];
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(file_left_, kFileChunk));
            const ssize_t n = ::read(file_, chunk + LWS_PRE, want);
            if (n <= 0) return -1;  // the file shrank or failed: the length said is a lie now
            file_left_ -= static_cast<std::uint64_t>(n);
            if (!write_raw(chunk + LWS_PRE, static_cast<std::size_t>(n))) return -1;
            continue;
        }
        return finish_answer();
    }
    request_writeable();
    return 0;
}

int ClientSocket::finish_answer() {
    if (file_ >= 0) ::close(file_);
    file_ = -1;
    file_left_ = 0;
    answering_ = false;
    if (close_after_) {
        // Over TLS, or with nothing of the client's unread, the close is the end. Else the
        // answer is followed by a FIN, and what the client still sends is read and dropped
        // until it closes (closing with unread bytes would send a reset, which can overtake
        // the answer), or kCloseWaitSeconds pass.
        int unread = 0;
        if (tls_ || (pending_.empty() && !parser_.failed() &&
                     ioctl(lws_get_socket_fd(wsi_), FIONREAD, &unread) == 0 && unread == 0))
            return -1;
        lingering_ = true;
        pending_ = {};
        ::shutdown(lws_get_socket_fd(wsi_), SHUT_WR);
        lws_set_timeout(wsi_, PENDING_TIMEOUT_CLOSE_ACK, kCloseWaitSeconds);
        lws_rx_flow_control(wsi_, 1);
        return 0;
    }
    parser_.reset();
    head_only_ = false;
    waiting_since_ = Clock::now();  // the next request's head has kHeaderTimeout from here
    if (!reading_paused_) lws_rx_flow_control(wsi_, 1);
    if (pending_.empty()) return 0;
    std::string next = std::move(pending_);
    pending_.clear();
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
    if (close_sent_ || lingering_) return;  // reading stays on for the close
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
    if (file_ >= 0) ::close(file_);
    file_ = -1;
    if (upgraded()) handler_.on_closed(*this);
}

void ClientSocket::kill() {
    lws_set_timeout(wsi_, PENDING_TIMEOUT_CLOSE_ACK, LWS_TO_KILL_ASYNC);
}

void ClientSocket::sweep(Clock::time_point now) {
    if (!upgraded()) {
        // A request head that takes too long (however slowly its bytes trickle in), or a
        // kept-alive connection idle that long.
        if (!answering_ && !lingering_ && now - waiting_since_ > kHeaderTimeout) kill();
        return;
    }
    const auto silent = now - last_read_;
    if (close_code_) return;  // the close has its own timeout
    if (silent > kIdleDrop) return kill();
    if (silent > kIdlePing && !pinged_) {
        pinged_ = true;
        ws::append_frame(control_, ws::Opcode::ping, {});
        request_writeable();
    }
}

}  // namespace adashta::edge
