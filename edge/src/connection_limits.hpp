// How many sockets the browser listener keeps open, in total and per client address, and
// what happens past that: a clean refusal (HTTP 503 with Retry-After) instead of a listener
// that fails accept() with EMFILE on every pass of the loop (docs/operations.md, "Connection
// limits").
//
// The descriptor budget. The process may open RLIMIT_NOFILE descriptors. A reserve of them
// (kReserveBase + the limit / kReserveDivisor) is left to the mesh (ZeroMQ: sockets, its
// event fds), the store (SQLite: the database, its WAL and index), the static files being
// served, the logs; kRefusalSlots more are sockets being answered 503; the rest is
// --max-connections at most. plan() raises the soft limit toward the hard one when the cap
// needs it, and lowers the cap (with a warning that says what to do) when it still does not
// fit.
//
// Three ways a connection is refused, cheapest last:
//   1. Over a cap, with a refusal slot free: the edge reads its request and answers 503
//      (refusing() / refusal()): "too_many_connections: ...", and for
//      /healthz {"status":"full"} (a readiness check: send new clients elsewhere). The
//      server answers /metrics on such a socket as usual, so a full edge can be watched.
//   2. Over a cap with every refusal slot taken: the socket gets a fixed 503 written at
//      accept and is closed (plain HTTP; over TLS it is only closed).
//   3. Out of descriptors anyway (something else took the reserve): the listener's own
//      watcher, which libev runs before libwebsockets', takes the waiting connections off
//      the backlog with a spare descriptor and answers them as in 2. libwebsockets 4.1
//      would otherwise log "accept: errno 24" and find the listener readable again at once,
//      forever (later versions pause themselves; 4.1 does not). When even the spare is
//      gone (another thread took the descriptor it freed), the listener pauses for
//      kPause: neither watcher reads it until then.
//
// Counted: every TCP connection libwebsockets adopts on the browser listener (WebSockets,
// HTTP requests, sockets that have not yet sent one; not admin unix sockets or the mesh).
//
// Owned by the HTTP thread (every call but stats(), which any thread may read).
//
//   ConnectionLimits limits;
//   if (auto ok = limits.plan(options); !ok) return ok;     // before lws_create_context
//   limits.watch(loop, port);                                // after it: the EMFILE guard
//   case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: return limits.filter(wsi, user) ? 0 : 1;
//   case LWS_CALLBACK_WSI_CREATE: limits.created(wsi); ...
//   if (limits.refusing(wsi)) answer 503 with limits.refusal(wsi, path) and Retry-After;
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "adashta/result.hpp"
#include "edge.hpp"

struct ev_loop;
struct lws;

namespace adashta::edge {

struct ConnectionLimitStats {
    std::atomic<std::uint64_t> refused_total{0};   // connections over --max-connections
    std::atomic<std::uint64_t> refused_per_ip{0};  // over --max-connections-per-ip
    std::atomic<std::uint64_t> refused_at_accept{0};     // of both: closed at accept (2, 3)
    std::atomic<std::uint64_t> descriptors_short{0};     // listener passes out of descriptors
    std::atomic<std::size_t> open{0};              // sockets adopted and not yet gone
};

class ConnectionLimits {
public:
    using Clock = std::chrono::steady_clock;

    // Descriptors kept for everything but browser sockets: kReserveBase + limit / divisor.
    static constexpr std::size_t kReserveBase = 64;
    static constexpr std::size_t kReserveDivisor = 16;
    // Sockets over a cap that may be answered 503 by libwebsockets at once.
    static constexpr std::size_t kRefusalSlots = 32;
    // --max-connections 0 lets the soft limit rise to at most this (libwebsockets sizes its
    // tables by the limit: 8 bytes twice a descriptor).
    static constexpr std::size_t kAutoLimit = 65536;
    static constexpr int kRetryAfterSeconds = 5;  // the 503's Retry-After
    static constexpr double kPauseSeconds = 0.1;  // the listener's rest when out of descriptors

    ConnectionLimits();
    ~ConnectionLimits();
    ConnectionLimits(const ConnectionLimits&) = delete;
    ConnectionLimits& operator=(const ConnectionLimits&) = delete;

    // Works out the caps from options (max_connections, max_connections_per_ip, 0 = as the
    // descriptor limit allows / none) and RLIMIT_NOFILE, raising its soft limit when that
    // helps. Logs a warning when the cap asked for does not fit (and serves the smaller
    // one); bad_option when the limit leaves no room at all. Before lws_create_context.
    Status plan(const EdgeOptions& options);
    std::size_t max_connections() const { return max_connections_; }  // after plan()
    std::size_t descriptor_limit() const { return descriptor_limit_; }

    // Starts the EMFILE guard on the listening sockets of port in loop (libev). Returns
    // false when it found none (the guard is then off; the caps still hold).
    bool watch(struct ev_loop* loop, int port, bool tls);
    void stop();  // before the loop and the context go

    // LWS_CALLBACK_FILTER_NETWORK_CONNECTION, with its user argument (the peer's address
    // and the accepted socket). False: refused at accept (the 503 is written); the caller
    // returns nonzero and libwebsockets closes the socket.
    bool filter(lws* listener, const void* filter_args);
    void created(lws* wsi);    // LWS_CALLBACK_WSI_CREATE: counts what filter() let in
    void destroyed(lws* wsi);  // LWS_CALLBACK_WSI_DESTROY
    // Whether wsi came in over a cap: its request (HTTP, or a WebSocket upgrade) gets 503.
    bool refusing(lws* wsi) const;
    // The 503's body for wsi, which is refusing(): JSON for /healthz, else a text that says
    // which cap. The caller answers with Retry-After: kRetryAfterSeconds and closes.
    struct Refusal {
        const char* content_type;
        std::string body;
    };
    Refusal refusal(lws* wsi, std::string_view path) const;
    // Once a second: the rate-limited warning about what was refused.
    void sweep(Clock::time_point now);

    const ConnectionLimitStats& stats() const { return stats_; }

private:
    using Address = std::array<unsigned char, 16>;  // IPv6, or IPv4 as ::ffff:a.b.c.d
    struct AddressHash {
        std::size_t operator()(const Address& a) const noexcept;
    };
    enum class Verdict : std::uint8_t { admit, over_total, over_ip };
    struct Entry {
        Address address;  // the peer
        Verdict verdict;  // admit: counted in per_address_
    };
    struct Watcher;
    struct PauseTimer;

    // Whether a new socket must be refused at accept: the refusal slots are taken, or the
    // process is (nearly) out of descriptors.
    bool exhausted();
    bool descriptors_short();
    // Takes waiting connections off a listener that cannot hand them to libwebsockets.
    void drain_listener(int listen_fd);
    void refuse_at_accept(int fd);  // writes the fixed 503 (not over TLS); the caller closes
    // Out of descriptors with no spare: neither watcher reads the listener for kPauseSeconds.
    void pause_listener();
    void resume_listener();
    void refused(Verdict verdict, const Address& address);
    // The summed-up warning, at most every kWarnEvery unless now_or_never (at the stop).
    void warn_refused(Clock::time_point now, bool now_or_never = false);

    std::size_t max_connections_ = 0;         // 0 before plan()
    std::size_t max_per_address_ = 0;         // 0: no per-address cap
    std::size_t descriptor_limit_ = 0;        // RLIMIT_NOFILE's soft limit after plan()
    bool tls_ = false;                        // the listener speaks TLS: no raw 503
    std::size_t admitted_ = 0;                // entries with Verdict::admit
    std::size_t refusing_ = 0;                // entries over a cap, being answered
    std::unordered_map<lws*, Entry> entries_;            // every counted socket
    std::unordered_map<Address, std::size_t, AddressHash> per_address_;  // admitted, by peer
    std::optional<Entry> filtered_;            // let in by filter(), until created()
    int spare_fd_ = -1;                        // /dev/null, closed to accept one at EMFILE
    std::vector<std::unique_ptr<Watcher>> watchers_;  // one per listening socket
    std::unique_ptr<PauseTimer> pause_timer_;         // armed while the listener rests
    lws* listener_ = nullptr;  // libwebsockets' listening wsi, as filter() first saw it
    bool paused_ = false;      // the listener rests (pause_listener)
    struct ev_loop* loop_ = nullptr;

    // For the rate-limited warning: refusals since the last line.
    std::uint64_t unreported_total_ = 0;
    std::uint64_t unreported_ip_ = 0;
    std::uint64_t unreported_short_ = 0;
    std::string last_address_;  // the last address refused per address
    Clock::time_point last_warning_{};
    ConnectionLimitStats stats_;
};

}  // namespace adashta::edge
