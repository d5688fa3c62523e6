#include "connection_limits.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <ev.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "adashta/errors.hpp"
#include "adashta/log.hpp"

namespace adashta::edge {

namespace {

// A socket accepted with fewer free descriptors than this above it is refused at accept:
// what is left is for the mesh, the store and the files being served.
constexpr int kLowWater = 16;
// At most this many waiting connections are refused in one pass of the listener's guard.
constexpr int kDrainBatch = 256;
// Refusals are summed up in one warning at most this often.
constexpr auto kWarnEvery = std::chrono::seconds{10};

// Written whole to a socket refused at accept (its send buffer is empty: it fits).
const std::string& refused_at_accept_answer() {
    static const std::string answer = [] {
        const std::string body =
            "too_many_connections: this edge has no room for another connection; try again "
            "in a moment\n";
        return "HTTP/1.1 503 Service Unavailable\r\nRetry-After: " +
               std::to_string(ConnectionLimits::kRetryAfterSeconds) +
               "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    }();
    return answer;
}

// The descriptors a limit leaves for browser sockets over the reserve and refusal slots.
std::size_t room_in(std::size_t limit) {
    const std::size_t reserve = ConnectionLimits::kReserveBase +
                                limit / ConnectionLimits::kReserveDivisor +
                                ConnectionLimits::kRefusalSlots;
    return limit > reserve ? limit - reserve : 0;
}

// The smallest limit with room for connections.
std::size_t limit_for(std::size_t connections) {
    std::size_t limit = (connections + ConnectionLimits::kReserveBase +
                         ConnectionLimits::kRefusalSlots) *
                        ConnectionLimits::kReserveDivisor / (ConnectionLimits::kReserveDivisor - 1);
    while (room_in(limit) < connections) ++limit;
    return limit;
}

std::string address_text(const std::array<unsigned char, 16>& a) {
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char text[INET6_ADDRSTRLEN] = {};
    if (std::memcmp(a.data(), kMapped, sizeof kMapped) == 0)
        inet_ntop(AF_INET, a.data() + 12, text, sizeof text);
    else
        inet_ntop(AF_INET6, a.data(), text, sizeof text);
    return text;
}

std::array<unsigned char, 16> address_of(const sockaddr_storage& peer) {
    std::array<unsigned char, 16> a{};
    if (peer.ss_family == AF_INET) {
        sockaddr_in v4{};
        std::memcpy(&v4, &peer, sizeof v4);
        a[10] = a[11] = 0xff;
        std::memcpy(a.data() + 12, &v4.sin_addr, 4);
    } else if (peer.ss_family == AF_INET6) {
        sockaddr_in6 v6{};
        std::memcpy(&v6, &peer, sizeof v6);
        std::memcpy(a.data(), &v6.sin6_addr, 16);
    }
    return a;
}

}  // namespace

struct ConnectionLimits::Watcher {
    ev_io io;  // first member: the callback gets its address
    ConnectionLimits* owner;
};

struct ConnectionLimits::PauseTimer {
    ev_timer timer;  // first member: the callback gets its address
    ConnectionLimits* owner;
};

std::size_t ConnectionLimits::AddressHash::operator()(const Address& a) const noexcept {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    std::memcpy(&high, a.data(), 8);
    std::memcpy(&low, a.data() + 8, 8);
    return std::hash<std::uint64_t>{}(high * 0x9e3779b97f4a7c15ULL ^ low);
}

ConnectionLimits::ConnectionLimits() = default;

ConnectionLimits::~ConnectionLimits() {
    stop();
}

Status ConnectionLimits::plan(const EdgeOptions& options) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return make_error(Errc::bad_option, std::string{"cannot read the descriptor limit "
                                                        "(RLIMIT_NOFILE): "} +
                                                std::strerror(errno));
    const std::size_t asked = options.max_connections;
    // The soft limit goes up as far as the cap needs (or to kAutoLimit for "as many as fit"),
    // when the hard limit lets it; a process may do that without privileges.
    const rlim_t wanted = asked ? static_cast<rlim_t>(limit_for(asked)) : rlim_t{kAutoLimit};
    const rlim_t raise_to = std::min(wanted, limit.rlim_max);
    if (raise_to > limit.rlim_cur) {
        rlimit raised = limit;
        raised.rlim_cur = raise_to;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit.rlim_cur = raise_to;
    }
    descriptor_limit_ = static_cast<std::size_t>(limit.rlim_cur);
    const std::size_t room = room_in(descriptor_limit_);
    const std::string ulimit = "ulimit -n " + std::to_string(descriptor_limit_);
    if (room == 0)
        return make_error(Errc::bad_option,
                          "the descriptor limit (" + ulimit +
                              ") leaves no room for browser connections after what the mesh, "
                              "the store and refusals need; raise it to at least " +
                              std::to_string(limit_for(asked ? asked : 100)) +
                              " (ulimit -n, LimitNOFILE= in a systemd unit, --ulimit nofile= "
                              "for docker run)");
    if (asked > room) {
        log::warn("edge", "--max-connections " + std::to_string(asked) +
                              " does not fit the descriptor limit (" + ulimit +
                              ", hard limit " +
                              (limit.rlim_max == RLIM_INFINITY ? std::string{"unlimited"}
                                                               : std::to_string(limit.rlim_max)) +
                              "): the edge serves at most " + std::to_string(room) +
                              " browser connections; raise the limit to " +
                              std::to_string(limit_for(asked)) +
                              " (ulimit -n, LimitNOFILE= in a systemd unit, --ulimit nofile= "
                              "for docker run) or lower --max-connections");
        max_connections_ = room;
    } else {
        max_connections_ = asked ? asked : room;
    }
    max_per_address_ = options.max_connections_per_ip;
    // debug: a start that fails a moment later (a bad data folder) shows its error alone.
    log::debug("edge", "browser connections: at most " + std::to_string(max_connections_) +
                          (max_per_address_ ? ", " + std::to_string(max_per_address_) +
                                                  " from one address"
                                            : std::string{}) +
                          " (descriptor limit " + std::to_string(descriptor_limit_) + ")");
    return {};
}

bool ConnectionLimits::watch(struct ev_loop* loop, int port, bool tls) {
    tls_ = tls;
    loop_ = loop;
    spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    // libwebsockets 4.1 has no call that names its listening socket: it is the one of this
    // process that listens on port (the mesh listens on another).
    DIR* fds = opendir("/proc/self/fd");
    if (!fds) return false;
    std::vector<int> listening;
    while (const dirent* entry = readdir(fds)) {
        const int fd = std::atoi(entry->d_name);
        if (fd <= 2 || fd == dirfd(fds)) continue;
        int accepting = 0;
        socklen_t size = sizeof accepting;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size) != 0 || !accepting)
            continue;
        sockaddr_storage bound{};
        socklen_t bound_size = sizeof bound;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_size) != 0) continue;
        int bound_port = 0;
        if (bound.ss_family == AF_INET)
            bound_port = ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
        else if (bound.ss_family == AF_INET6)
            bound_port = ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
        if (bound_port == port) listening.push_back(fd);
    }
    closedir(fds);
    for (int fd : listening) {
        auto watcher = std::make_unique<Watcher>();
        watcher->owner = this;
        ev_io_init(&watcher->io,
                   [](struct ev_loop*, ev_io* io, int) {
                       auto* w = reinterpret_cast<Watcher*>(io);
                       if (w->owner->exhausted()) w->owner->drain_listener(io->fd);
                   },
                   fd, EV_READ);
        // Before libwebsockets' own watcher on the socket, in the same pass of the loop.
        ev_set_priority(&watcher->io, EV_MAXPRI);
        ev_io_start(loop, &watcher->io);
        watchers_.push_back(std::move(watcher));
    }
    if (listening.empty())
        log::warn("edge", "found no listening socket on port " + std::to_string(port) +
                              ": the edge cannot refuse connections once out of descriptors");
    return !listening.empty();
}

void ConnectionLimits::stop() {
    if (loop_) warn_refused(Clock::now(), true);  // what the last 10 s refused, at the end
    if (pause_timer_) ev_timer_stop(loop_, &pause_timer_->timer);
    pause_timer_.reset();
    for (auto& watcher : watchers_) ev_io_stop(loop_, &watcher->io);
    watchers_.clear();
    if (spare_fd_ >= 0) close(spare_fd_);
    spare_fd_ = -1;
}

bool ConnectionLimits::filter(lws* listener, const void* filter_args) {
    listener_ = listener;
    const auto& args = *static_cast<const lws_filter_network_conn_args*>(filter_args);
    const int fd = static_cast<int>(args.accept_fd);
    Entry entry{.address = address_of(args.cli_addr), .verdict = Verdict::admit};
    if (admitted_ >= max_connections_) {
        entry.verdict = Verdict::over_total;
    } else if (max_per_address_) {
        auto counted = per_address_.find(entry.address);
        if (counted != per_address_.end() && counted->second >= max_per_address_)
            entry.verdict = Verdict::over_ip;
    }
    // accept() gives the lowest free descriptor: one this high leaves few above it.
    const bool short_of_descriptors =
        static_cast<std::size_t>(fd) + kLowWater >= descriptor_limit_;
    if (entry.verdict != Verdict::admit) refused(entry.verdict, entry.address);
    if (short_of_descriptors) {
        ++stats_.descriptors_short;
        ++unreported_short_;
    }
    if (short_of_descriptors || (entry.verdict != Verdict::admit && refusing_ >= kRefusalSlots)) {
        ++stats_.refused_at_accept;
        refuse_at_accept(fd);
        warn_refused(Clock::now());
        return false;
    }
    filtered_ = entry;
    return true;
}

void ConnectionLimits::created(lws* wsi) {
    // libwebsockets makes the socket's wsi right after filter() let it in, before it gives
    // the wsi its descriptor: the entry filter() left is this wsi's.
    if (!filtered_) return;  // not a socket of the listener
    const Entry entry = *filtered_;
    filtered_.reset();
    entries_[wsi] = entry;
    if (entry.verdict == Verdict::admit) {
        ++admitted_;
        ++per_address_[entry.address];
    } else {
        ++refusing_;
    }
    stats_.open = entries_.size();
}

void ConnectionLimits::destroyed(lws* wsi) {
    auto found = entries_.find(wsi);
    if (found == entries_.end()) return;
    if (found->second.verdict == Verdict::admit) {
        --admitted_;
        auto counted = per_address_.find(found->second.address);
        if (counted != per_address_.end() && --counted->second == 0) per_address_.erase(counted);
    } else {
        --refusing_;
    }
    entries_.erase(found);
    stats_.open = entries_.size();
}

bool ConnectionLimits::refusing(lws* wsi) const {
    if (refusing_ == 0) return false;  // the common case, without a lookup
    auto found = entries_.find(wsi);
    return found != entries_.end() && found->second.verdict != Verdict::admit;
}

ConnectionLimits::Refusal ConnectionLimits::refusal(lws* wsi, std::string_view path) const {
    const Entry& entry = entries_.at(wsi);
    if (path == "/healthz")
        // Ready for no one new: a load balancer polling this sends new clients elsewhere.
        return {"application/json",
                R"({"status":"full","maxConnections":)" + std::to_string(max_connections_) + "}\n"};
    if (entry.verdict == Verdict::over_total)
        return {"text/plain; charset=utf-8",
                "too_many_connections: this edge serves " + std::to_string(max_connections_) +
                    " connections, the most it allows (--max-connections); try again in a "
                    "moment\n"};
    return {"text/plain; charset=utf-8",
            "too_many_connections: this address has " + std::to_string(max_per_address_) +
                " connections to this edge, the most it allows from one address "
                "(--max-connections-per-ip); close one, or try again in a moment\n"};
}

bool ConnectionLimits::exhausted() {
    return (admitted_ >= max_connections_ && refusing_ >= kRefusalSlots) || descriptors_short();
}

bool ConnectionLimits::descriptors_short() {
    if (spare_fd_ < 0) spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (spare_fd_ < 0) return true;
    const int probe = fcntl(spare_fd_, F_DUPFD_CLOEXEC, 0);
    if (probe < 0) return true;
    close(probe);
    return static_cast<std::size_t>(probe) + kLowWater >= descriptor_limit_;
}

void ConnectionLimits::drain_listener(int listen_fd) {
    const bool short_of_descriptors = descriptors_short();
    if (short_of_descriptors) {
        ++stats_.descriptors_short;
        ++unreported_short_;
    }
    for (int n = 0; n < kDrainBatch; ++n) {
        int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
            // The classic way out: give back the spare, take the connection with it, refuse
            // it; the descriptor is free again for the next one.
            close(spare_fd_);
            spare_fd_ = -1;
            fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        }
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            // Another thread took the descriptor the spare freed: nothing here can accept
            // until something closes, and the listener stays readable. It rests a moment.
            if (errno == EMFILE || errno == ENFILE) pause_listener();
            break;  // EAGAIN: the backlog is empty; anything else: libwebsockets sees it too
        }
        ++stats_.refused_at_accept;
        if (!short_of_descriptors) {
            ++stats_.refused_total;
            ++unreported_total_;
        }
        refuse_at_accept(fd);
        close(fd);
    }
    if (spare_fd_ < 0) spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    warn_refused(Clock::now());
}

void ConnectionLimits::pause_listener() {
    if (paused_ || !loop_) return;
    paused_ = true;
    for (auto& watcher : watchers_) ev_io_stop(loop_, &watcher->io);
    // libwebsockets' own watcher: through its read flow control on the listening wsi. Before
    // any connection came in the edge does not know that wsi; a short sleep then bounds how
    // often both retry (the edge is out of descriptors: latency is the lesser harm).
    if (listener_)
        lws_rx_flow_control(listener_, 0);
    else
        usleep(10'000);
    if (!pause_timer_) {
        pause_timer_ = std::make_unique<PauseTimer>();
        pause_timer_->owner = this;
        ev_timer_init(&pause_timer_->timer,
                      [](struct ev_loop*, ev_timer* timer, int) {
                          reinterpret_cast<PauseTimer*>(timer)->owner->resume_listener();
                      },
                      kPauseSeconds, 0.);
    }
    ev_timer_set(&pause_timer_->timer, kPauseSeconds, 0.);
    ev_timer_start(loop_, &pause_timer_->timer);
}

void ConnectionLimits::resume_listener() {
    if (!paused_) return;
    paused_ = false;
    if (listener_) lws_rx_flow_control(listener_, 1);
    for (auto& watcher : watchers_) ev_io_start(loop_, &watcher->io);
}

void ConnectionLimits::refuse_at_accept(int fd) {
    if (tls_) return;  // a TLS client cannot read plain text: it only sees the close
    // What the client sent already is read first: closing with unread data would reset
    // the connection, and the reset can overtake the answer.
    char sink[4096];
    for (int n = 0; n < 4 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++n) {
    }
    // A new socket's send buffer is empty: the answer fits, or the client is gone.
    const std::string& answer = refused_at_accept_answer();
    (void)send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
}

void ConnectionLimits::refused(Verdict verdict, const Address& address) {
    if (verdict == Verdict::over_total) {
        ++stats_.refused_total;
        ++unreported_total_;
    } else {
        ++stats_.refused_per_ip;
        ++unreported_ip_;
        last_address_ = address_text(address);
    }
    warn_refused(Clock::now());
}

void ConnectionLimits::sweep(Clock::time_point now) {
    warn_refused(now);
}

void ConnectionLimits::warn_refused(Clock::time_point now, bool now_or_never) {
    if (unreported_total_ + unreported_ip_ + unreported_short_ == 0) return;
    if (!now_or_never && last_warning_ != Clock::time_point{} && now - last_warning_ < kWarnEvery)
        return;
    std::string text = "refused connections (";
    text += std::to_string(admitted_) + " open of --max-connections " +
            std::to_string(max_connections_) + "):";
    // Appended piece by piece: GCC 12's -O3 warns (-Wrestrict, a false positive) on
    // " " + std::to_string(...).
    if (unreported_total_) {
        text += ' ';
        text += std::to_string(unreported_total_) + " over --max-connections;";
    }
    if (unreported_ip_) {
        text += ' ';
        text += std::to_string(unreported_ip_) + " over --max-connections-per-ip " +
                std::to_string(max_per_address_) + " (the last from " + last_address_ + ");";
    }
    if (unreported_short_)
        text += " short of descriptors " + std::to_string(unreported_short_) +
                " times (ulimit -n " + std::to_string(descriptor_limit_) +
                ": the mesh, the store or files hold more than the reserve);";
    text += " they were answered 503 (Retry-After " + std::to_string(kRetryAfterSeconds) +
            " s); raise the caps (and ulimit -n), or add edges";
    if (last_warning_ != Clock::time_point{}) text += " (summed up once every 10 s)";
    log::warn("edge", text);
    last_warning_ = now;
    unreported_total_ = unreported_ip_ = unreported_short_ = 0;
}

}  // namespace adashta::edge
