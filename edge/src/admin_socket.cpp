#include "admin_socket.hpp"

#include <libwebsockets.h>
#include <sodium.h>

#include <fstream>
#include <sstream>

#include "adashta/errors.hpp"
#include "adashta/json.hpp"
#include "adashta/log.hpp"

namespace adashta::edge {

namespace {

Result<std::string> read_token_file(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in)
        return make_error(Errc::bad_option, "--admin-token-file: cannot read \"" + path +
                                                "\"; write a token there first, e.g. "
                                                "openssl rand -hex 32 > " + path);
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
        token.pop_back();
    return token;
}

std::array<unsigned char, 32> digest(std::string_view text) {
    std::array<unsigned char, 32> out{};
    crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(text.data()),
                       text.size(), nullptr, 0);
    return out;
}

}  // namespace

Result<AdminToken> AdminToken::make(const EdgeOptions& options) {
    AdminToken token;
    if (options.admin_token.empty() && options.admin_token_file.empty()) return token;
    if (!options.admin_token.empty() && !options.admin_token_file.empty())
        return make_error(Errc::bad_option,
                          "give --admin-token (or $ADASHTA_ADMIN_TOKEN) or --admin-token-file, "
                          "not both");
    std::string text = options.admin_token;
    if (!options.admin_token_file.empty()) {
        auto read = read_token_file(options.admin_token_file);
        if (!read) return read.error();
        text = std::move(*read);
    }
    if (text.size() < kMinLength)
        return make_error(Errc::bad_option,
                          "the admin token must be at least " + std::to_string(kMinLength) +
                              " characters; make one with: openssl rand -hex 32");
    if (sodium_init() < 0)
        return make_error(Errc::bad_option, "libsodium could not start, so the admin token "
                                            "cannot be checked");
    token.enabled_ = true;
    token.digest_ = digest(text);
    return token;
}

bool AdminToken::matches(std::string_view presented) const {
    if (!enabled_) return false;
    const auto other = digest(presented);
    return sodium_memcmp(other.data(), digest_.data(), digest_.size()) == 0;
}

std::uint64_t AdminSockets::open(ClientSocket& socket, Clock::time_point now) {
    const std::uint64_t serial = next_serial_++;
    Conn& c = conns_[serial];
    c.socket = &socket;
    c.opened = now;
    if (!enabled())
        close(c, static_cast<int>(Errc::admin_refused),
              "admin_refused: the admin page is off; start the edge with --admin-token-file FILE");
    return serial;
}

bool AdminSockets::receive(std::uint64_t serial, std::string_view message) {
    auto it = conns_.find(serial);
    if (it == conns_.end()) return false;
    Conn& c = it->second;
    if (c.closing) return false;
    const bool was_authed = c.authed;
    handle(c, message);
    return !was_authed && c.authed;
}

void AdminSockets::handle(Conn& c, std::string_view text) {
    if (c.authed) return;  // the page sends nothing after its token; anything else is ignored
    auto frame = json::ObjectView::parse(text);
    const auto type = frame ? frame->string("type") : std::nullopt;
    const auto token = frame ? frame->string("token") : std::nullopt;
    if (!type || *type != "admin" || !token || !token_.matches(*token)) {
        log::info("edge", "refused an admin connection: wrong or missing admin token");
        close(c, static_cast<int>(Errc::admin_refused), "admin_refused: wrong admin token");
        return;
    }
    c.authed = true;
    ++watching_;
}

bool AdminSockets::writeable(std::uint64_t serial, ClientSocket& socket) {
    auto it = conns_.find(serial);
    if (it == conns_.end()) return true;
    Conn& c = it->second;
    if (!c.next || c.closing) return true;
    if (socket.choked()) {
        socket.request_writeable();
        return false;
    }
    // One frame for every page: each connection puts its header in the LWS_PRE bytes in
    // front, one after the other on this thread.
    const auto frame = std::exchange(c.next, nullptr);
    socket.write_message(*frame, ws::Opcode::text);
    return true;
}

void AdminSockets::closing(std::uint64_t serial) {
    auto it = conns_.find(serial);
    if (it == conns_.end()) return;
    it->second.closing = true;
    it->second.next = nullptr;
}

void AdminSockets::closed(std::uint64_t serial) {
    auto it = conns_.find(serial);
    if (it == conns_.end()) return;
    if (it->second.authed) --watching_;
    conns_.erase(it);
}

void AdminSockets::sweep(Clock::time_point now) {
    for (auto& [serial, c] : conns_)
        if (!c.authed && now - c.opened > token_timeout_)
            close(c, static_cast<int>(Errc::admin_refused),
                  "admin_refused: no admin token arrived in time");
}

bool AdminSockets::begin(Clock::time_point now) {
    constexpr auto kOverdue = std::chrono::seconds{10};
    if (watching_ == 0 || (in_flight_ && now - in_flight_since_ < kOverdue)) return false;
    in_flight_ = true;
    in_flight_since_ = now;
    return true;
}

void AdminSockets::publish(std::string frame) {
    in_flight_ = false;
    if (watching_ == 0) return;
    auto shared = std::make_shared<std::string>(LWS_PRE, '\0');
    shared->append(frame);
    for (auto& [serial, c] : conns_) {
        if (!c.authed || c.closing) continue;
        c.next = shared;
        c.socket->request_writeable();
    }
}

void AdminSockets::shut_down() {
    for (auto& [serial, c] : conns_) close(c, ws::close_code::going_away, "shutting down");
}

void AdminSockets::close(Conn& c, int code, std::string_view reason) {
    if (c.closing) return;
    c.closing = true;
    c.next = nullptr;
    c.socket->close(static_cast<std::uint16_t>(code), reason);  // cut to fit by the socket
}

}  // namespace adashta::edge
