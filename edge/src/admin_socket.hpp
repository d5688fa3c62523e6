// The admin page's WebSocket, /admin/ws, and the token that opens it. Owned by the edge's
// HTTP thread, like the browser connections, but apart from them: admin connections have no
// session, are not counted in /healthz, and speak no browser protocol.
//
// A connection presents the admin token in its first frame, {"type":"admin","token":"..."};
// a wrong or missing token closes it with 4016 admin_refused, and so does every connection
// when the edge has no admin token (the page is off). Connections that passed get a snapshot
// frame about once a second (admin_snapshot.hpp), the newest only: a page that reads slowly
// skips snapshots instead of piling them up in the edge.
//
//   AdminSockets admin{std::chrono::seconds{10}};
//   if (auto token = AdminToken::make(options); token) admin.set_token(std::move(*token));
//   serial = admin.open(socket, now);              // a WebSocket upgraded on /admin/ws
//   if (admin.receive(serial, message) && admin.begin(now)) start_snapshot();
//   admin.publish(frame);                          // the finished snapshot, to every page
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "adashta/result.hpp"
#include "client_socket.hpp"
#include "edge.hpp"

namespace adashta::edge {

class AdminToken {
public:
    // From --admin-token (or $ADASHTA_ADMIN_TOKEN, which the CLI puts there) or
    // --admin-token-file. Neither: the admin page is off. bad_option when both are given, the
    // file cannot be read, or the token is shorter than kMinLength.
    static Result<AdminToken> make(const EdgeOptions& options);
    static constexpr std::size_t kMinLength = 16;

    bool enabled() const { return enabled_; }
    // Whether presented is the token, in time that does not depend on where they differ
    // (both are hashed, and the hashes compared in constant time). False when not enabled.
    bool matches(std::string_view presented) const;

private:
    bool enabled_ = false;
    std::array<unsigned char, 32> digest_{};  // BLAKE2b of the token
};

class AdminSockets {
public:
    using Clock = std::chrono::steady_clock;

    explicit AdminSockets(std::chrono::seconds token_timeout) : token_timeout_(token_timeout) {}
    void set_token(AdminToken token) { token_ = token; }  // before the server runs
    bool enabled() const { return token_.enabled(); }

    // The largest message an admin page sends (its token): past it, 1009.
    static constexpr std::size_t kMaxMessage = 4096;

    // A WebSocket on /admin/ws was established. Returns its serial, for the calls below.
    std::uint64_t open(ClientSocket& socket, Clock::time_point now);
    // A whole message. True when it authenticated the connection: the caller then starts a
    // snapshot, so the page fills at once.
    bool receive(std::uint64_t serial, std::string_view message);
    // Writes the connection's newest frame; true when nothing more waits (SocketHandler).
    bool writeable(std::uint64_t serial, ClientSocket& socket);
    void closing(std::uint64_t serial);  // the socket closes: nothing more is sent to it
    void closed(std::uint64_t serial);
    // Closes connections that did not present the token within token_timeout.
    void sweep(Clock::time_point now);

    // Whether a snapshot should be gathered now: someone watches and none is on its way (or
    // the one on its way is overdue: a hand-off that was dropped must not stop the updates).
    // True marks one as on its way.
    bool begin(Clock::time_point now);
    // The snapshot frame (JSON text) for every authenticated connection; ends the one on its
    // way.
    void publish(std::string frame);
    std::size_t watching() const { return watching_; }
    std::size_t connections() const { return conns_.size(); }
    // Closes every connection with 1001 (going away): the pages reconnect by themselves.
    void shut_down();

private:
    struct Conn {
        ClientSocket* socket = nullptr;
        bool authed = false;
        Clock::time_point opened;
        std::shared_ptr<std::string> next;        // newest frame not written (LWS_PRE in front)
        bool closing = false;                     // closed or closing: nothing more is sent
    };
    void close(Conn& c, int code, std::string_view reason);
    void handle(Conn& c, std::string_view text);  // a whole frame

    std::chrono::seconds token_timeout_;
    AdminToken token_;
    std::unordered_map<std::uint64_t, Conn> conns_;  // by serial
    std::uint64_t next_serial_ = 1;
    std::size_t watching_ = 0;                       // of conns_, the authenticated ones
    bool in_flight_ = false;                         // a snapshot is being gathered
    Clock::time_point in_flight_since_;
};

}  // namespace adashta::edge
