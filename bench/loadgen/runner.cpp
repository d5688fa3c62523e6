#include "runner.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "ws_handshake.hpp"

namespace {

constexpr uint32_t max_connects_in_flight = 500;
constexpr int64_t ns_per_s = 1'000'000'000;
constexpr int64_t ns_per_ms = 1'000'000;
constexpr int64_t handshake_timeout_ns = 15 * ns_per_s;
constexpr int64_t reqrep_grace_ns = 2 * ns_per_s;
constexpr int64_t stream_timeout_ns = 10 * ns_per_s;
constexpr std::size_t scratch_bytes = 64 * 1024;
constexpr std::size_t max_message_bytes = 16u << 20;
constexpr std::size_t max_out_bytes = 8u << 20;
constexpr std::size_t ingress_batch_bytes = 64 * 1024;
constexpr uint64_t max_failures_logged = 5;

constexpr std::string_view stream_create_subject = "$JS.API.STREAM.CREATE.BENCH";
constexpr std::string_view stream_config =
    R"({"name":"BENCH","subjects":["js.>"],"storage":"file","retention":"limits","max_age":0})";

volatile std::sig_atomic_t stop_requested = 0;

void on_stop_signal(int) {
    stop_requested = 1;
}

volatile std::sig_atomic_t next_phase_requested = 0;  // reqrep --phases: SIGUSR1 came

void on_next_phase_signal(int) {
    next_phase_requested = 1;
}

int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * ns_per_s + ts.tv_nsec;
}

uint32_t next_mask(uint32_t& state) {  // xorshift32: cheap, never 0
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

void append_uint(std::string& s, uint64_t value) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    s.append(digits, end);
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// The value after "key": in a flat JSON object (we only read fields the peers write without
// escapes). Empty when the key is absent.
std::string_view json_value(std::string_view json, std::string_view quoted_key) {
    std::size_t at = json.find(quoted_key);
    if (at == std::string_view::npos) return {};
    std::size_t i = at + quoted_key.size();
    while (i < json.size() && (json[i] == ' ' || json[i] == ':')) ++i;
    return json.substr(i);
}

std::string_view json_string(std::string_view json, std::string_view quoted_key) {
    std::string_view v = json_value(json, quoted_key);
    if (v.empty() || v.front() != '"') return {};
    std::size_t end = v.find('"', 1);
    return end == std::string_view::npos ? std::string_view{} : v.substr(1, end - 1);
}

// The decimal number at the start of s.
bool leading_uint(std::string_view s, uint64_t& value) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc{} && ptr != s.data();
}

std::string format_double(double value, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

std::string server_hint(Proto proto, const Url& url) {
    std::string port = std::to_string(url.port);
    switch (proto) {
        case Proto::adashta:
            return "start an Adashta edge: adashta edge --http " + url.host + ":" + port;
        case Proto::socketio:
            return "start the Socket.IO peer: node bench/peers/socketio_server.mjs --port " + port;
        case Proto::ws:
            return "start the ws peer: node bench/peers/ws_server.mjs --port " + port;
        case Proto::nats:
            return "start nats-server with websocket { listen: \"" + url.host + ":" + port +
                   "\", no_tls: true }";
    }
    return {};
}

}  // namespace

Runner::Runner(const BenchOptions& options, Url url)
    : options_(options), url_(std::move(url)), events_(1024), scratch_(scratch_bytes) {
    conns_.resize(static_cast<std::size_t>(options_.connections));
    pad_.assign(options_.size, 'x');
    opcode_ = options_.proto == Proto::nats ? ws_opcode::binary : ws_opcode::text;
    hello_ = options_.token.empty() ? std::string{R"({"type":"hello"})"}
                                    : R"({"type":"hello","token":")" + options_.token + "\"}";
}

// ---------------------------------------------------------------------------------------
// Phases

int Runner::run() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;  // no SA_RESTART: epoll_wait returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    struct sigaction next_phase {};
    next_phase.sa_handler = on_next_phase_signal;  // reqrep --phases: start the next one
    sigaction(SIGUSR1, &next_phase, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1000UL);  // wake at the request grid, not 50 us later

    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
        std::perror("adashta-bench: epoll_create1");
        return 1;
    }
    start_ns_ = monotonic_ns();
    now_ = start_ns_;
    std::fprintf(stderr, "adashta-bench: %s over %s to %s, %d connections\n",
                 std::string{scenario_name(options_.scenario)}.c_str(),
                 std::string{proto_name(options_.proto)}.c_str(), url_.text.c_str(),
                 options_.connections);
    connect_all();
    if (ever_ready_ == 0) {
        std::fprintf(stderr, "adashta-bench: no connection to %s succeeded; %s\n",
                     url_.text.c_str(), server_hint(options_.proto, url_).c_str());
        return 1;
    }
    std::fprintf(stderr, "adashta-bench: %u of %d connections up in %.0f ms\n", ready_now_,
                 options_.connections, static_cast<double>(now_ - start_ns_) / ns_per_ms);
    if (options_.scenario == Scenario::durable && options_.proto == Proto::nats &&
        !create_nats_stream()) {
        std::fprintf(stderr, "adashta-bench: JetStream stream BENCH at %s: %s\n", url_.text.c_str(),
                     stream_error_.c_str());
        return 1;
    }
    switch (options_.scenario) {
        case Scenario::ingress:
            run_ingress();
            break;
        case Scenario::reqrep:
            run_reqrep();
            break;
        case Scenario::durable:
            run_durable();
            break;
        case Scenario::idle:
            hold_idle();
            break;
    }
    if (failures_logged_ < failed_connects_ + dropped_)
        std::fprintf(stderr, "adashta-bench: %llu connection failures in all (%llu shown)\n",
                     static_cast<unsigned long long>(failed_connects_ + dropped_),
                     static_cast<unsigned long long>(failures_logged_));
    for (Conn& c : conns_)
        if (c.fd >= 0) ::close(c.fd);
    ::close(epoll_fd_);
    return 0;
}

void Runner::connect_all() {
    const auto total = static_cast<uint32_t>(options_.connections);
    int64_t last_expiry_scan = now_;
    while (!stop_requested && (opened_ < total || in_flight_ > 0)) {
        while (opened_ < total && in_flight_ < max_connects_in_flight) open_next();
        poll_once(now_ + 100 * ns_per_ms);
        if (now_ - last_expiry_scan > 500 * ns_per_ms) {
            expire_handshakes();
            last_expiry_scan = now_;
        }
    }
}

bool Runner::create_nats_stream() {
    Conn* first = nullptr;
    for (Conn& c : conns_)
        if (c.state == ConnState::ready) {
            first = &c;
            break;
        }
    if (first == nullptr) return false;
    payload_.clear();
    payload_ += "PUB ";
    payload_ += stream_create_subject;
    payload_ += " _INBOX.";
    append_uint(payload_, first->index);
    payload_ += ".create ";
    append_uint(payload_, stream_config.size());
    payload_ += "\r\n";
    payload_ += stream_config;
    payload_ += "\r\n";
    stream_ = StreamState::pending;
    send_message(*first, payload_);
    int64_t deadline = now_ + stream_timeout_ns;
    while (!stop_requested && stream_ == StreamState::pending && now_ < deadline)
        poll_once(deadline);
    if (stream_ == StreamState::pending) {
        stream_error_ = "no answer in 10 s (is JetStream enabled? jetstream { store_dir: ... })";
        return false;
    }
    return stream_ == StreamState::ready;
}

void Runner::run_ingress() {
    build_ingress_batch();
    run_start_ns_ = monotonic_ns();
    now_ = run_start_ns_;
    ingress_running_ = true;
    for (Conn& c : conns_)
        if (c.state == ConnState::ready) set_write_interest(c, true);
    // For a runner that starts other load beside this one (the flood scenario).
    std::printf("{\"event\":\"loading\",\"connections\":%u}\n", ready_now_);
    std::fflush(stdout);
    const int64_t end = run_start_ns_ + static_cast<int64_t>(options_.duration_s * ns_per_s);
    // Kernel buffers on loopback (tcp_rmem up to 32 MiB per socket) swallow a lot before the
    // server reads it, so sent/duration overstates a short run. Once they are full, writes
    // advance at the server's pace: the second half measures that steady rate.
    const int64_t middle = run_start_ns_ + (end - run_start_ns_) / 2;
    bool middle_seen = false;
    while (!stop_requested && now_ < end && ready_now_ > 0) {
        poll_once(middle_seen ? end : middle);
        if (!middle_seen && now_ >= middle) {
            middle_seen = true;
            middle_sent_ = ingress_sent();
            middle_ns_ = now_;
        }
    }
    run_end_ns_ = now_;
    ingress_running_ = false;
    print_result(static_cast<double>(run_end_ns_ - run_start_ns_) / ns_per_s);
}

void Runner::run_reqrep() {
    for (Conn& c : conns_)
        if (c.state == ConnState::ready) ready_list_.push_back(c.index);
    for (phase_ = 1; phase_ <= options_.phases; ++phase_) {
        if (phase_ > 1 && !wait_next_phase()) return;
        run_reqrep_phase();
        if (stop_requested || ready_now_ == 0) return;
    }
}

// One load phase: --duration of requests on the rate grid (or closed loop), the grace for the
// last replies, then this phase's result line. Requests keep their sequence numbers across
// phases; a reply to an earlier phase's request is not counted in this one.
void Runner::run_reqrep_phase() {
    phase_first_seq_ = sent_;
    answered_ = 0;
    backlog_drops_ = 0;
    latency_ = Histogram{};
    send_lag_ = Histogram{};
    run_start_ns_ = monotonic_ns();
    now_ = run_start_ns_;
    load_running_ = true;
    const int64_t end = run_start_ns_ + static_cast<int64_t>(options_.duration_s * ns_per_s);
    const bool open_loop = options_.rate > 0;
    const double interval_ns = open_loop ? 1e9 / options_.rate : 0;
    if (!open_loop) {
        for (uint32_t index : ready_list_) send_request(conns_[index], sent_);
        flush_dirty();
    }
    while (!stop_requested && now_ < end && ready_now_ > 0) {
        int64_t deadline = end;
        if (open_loop) {
            // Every request has its slot on a fixed grid; send all whose time has come.
            auto due =
                static_cast<uint64_t>(static_cast<double>(now_ - run_start_ns_) / interval_ns) + 1;
            while (sent_ - phase_first_seq_ < due) {
                Conn* c = next_request_conn(sent_);
                if (c == nullptr) break;
                send_request(*c, sent_);
            }
            flush_dirty();
            const auto phase_sent = static_cast<double>(sent_ - phase_first_seq_);
            deadline =
                std::min(end, run_start_ns_ + static_cast<int64_t>(phase_sent * interval_ns));
        }
        poll_once(deadline);
    }
    load_running_ = false;
    run_end_ns_ = now_;
    const int64_t grace_end = now_ + reqrep_grace_ns;
    while (!stop_requested && answered_ < sent_ - phase_first_seq_ && now_ < grace_end &&
           ready_now_ > 0)
        poll_once(grace_end);
    if (backlog_drops_ > 0)
        std::fprintf(stderr,
                     "adashta-bench: %llu requests not written: connection backlog over "
                     "8 MiB (the server does not read)\n",
                     static_cast<unsigned long long>(backlog_drops_));
    print_result(static_cast<double>(run_end_ns_ - run_start_ns_) / ns_per_s);
}

// Between reqrep phases: connections stay open and served (pings, late replies) until
// SIGUSR1; false when it does not come within max_phase_wait_s or the run is stopped.
bool Runner::wait_next_phase() {
    const int64_t deadline = now_ + static_cast<int64_t>(max_phase_wait_s * ns_per_s);
    while (!stop_requested && !next_phase_requested && now_ < deadline && ready_now_ > 0)
        poll_once(deadline);
    if (next_phase_requested) {
        next_phase_requested = 0;
        return true;
    }
    if (!stop_requested)
        std::fprintf(stderr,
                     "adashta-bench: phase %d of %d never started: no SIGUSR1 within %.0f s "
                     "(or every connection closed); stopping\n",
                     phase_, options_.phases, max_phase_wait_s);
    return false;
}

void Runner::run_durable() {
    run_start_ns_ = monotonic_ns();
    now_ = run_start_ns_;
    load_running_ = true;
    for (Conn& c : conns_)
        if (c.state == ConnState::ready) fill_window(c);
    flush_dirty();
    const int64_t end = run_start_ns_ + static_cast<int64_t>(options_.duration_s * ns_per_s);
    while (!stop_requested && now_ < end && ready_now_ > 0) poll_once(end);
    load_running_ = false;
    run_end_ns_ = now_;
    print_result(static_cast<double>(run_end_ns_ - run_start_ns_) / ns_per_s);
}

void Runner::hold_idle() {
    const double elapsed_ms = static_cast<double>(now_ - start_ns_) / ns_per_ms;
    std::printf("{\"event\":\"connected\",\"connections\":%u,\"failed\":%llu,\"elapsed_ms\":%s}\n",
                ready_now_, static_cast<unsigned long long>(failed_connects_),
                format_double(elapsed_ms, 0).c_str());
    std::fflush(stdout);
    run_start_ns_ = now_;
    const int64_t end = now_ + static_cast<int64_t>(options_.hold_s * ns_per_s);
    while (!stop_requested && now_ < end) poll_once(end);
    run_end_ns_ = now_;
    print_result(static_cast<double>(run_end_ns_ - run_start_ns_) / ns_per_s);
}

// ---------------------------------------------------------------------------------------
// The loop

void Runner::poll_once(int64_t deadline_ns) {
    now_ = monotonic_ns();
    int64_t wait_ns = std::clamp<int64_t>(deadline_ns - now_, 0, 100 * ns_per_ms);
    int n = -1;
    if (have_epoll_pwait2_) {
        timespec timeout{wait_ns / ns_per_s, wait_ns % ns_per_s};
        n = epoll_pwait2(epoll_fd_, events_.data(), static_cast<int>(events_.size()), &timeout,
                         nullptr);
        if (n < 0 && errno == ENOSYS) have_epoll_pwait2_ = false;
    }
    if (!have_epoll_pwait2_) {
        n = epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()),
                       static_cast<int>((wait_ns + ns_per_ms - 1) / ns_per_ms));
    }
    now_ = monotonic_ns();
    for (int i = 0; i < n; ++i) {
        Conn& c = conns_[events_[static_cast<std::size_t>(i)].data.u64];
        dispatch(c, events_[static_cast<std::size_t>(i)].events);
    }
    flush_dirty();
    print_progress(false);
}

void Runner::dispatch(Conn& c, uint32_t events) {
    switch (c.state) {
        case ConnState::unopened:
        case ConnState::closed:
            return;
        case ConnState::connecting:
            finish_connect(c);
            return;
        case ConnState::upgrading:
        case ConnState::handshaking:
        case ConnState::ready:
            break;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
    if (c.state != ConnState::closed && (events & EPOLLOUT)) on_writable(c);
}

void Runner::open_next() {
    Conn& c = conns_[opened_];
    c.index = opened_++;
    c.opened_ns = now_;
    c.mask_state = static_cast<uint32_t>(monotonic_ns()) * 2654435761u + c.index * 2 + 1;
    if (c.mask_state == 0) c.mask_state = 1;
    std::string key = make_ws_key(static_cast<uint64_t>(now_) ^ (uint64_t{c.index} << 32));
    std::memcpy(c.key, key.data(), sizeof c.key);
    ++in_flight_;
    c.state = ConnState::connecting;
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        fail(c, std::string{"socket: "} + std::strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (options_.source_ips > 1) {
        // Choose the source address now but the port at connect(), so each source address
        // gets the whole ephemeral range toward the server.
        setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in source{};
        source.sin_family = AF_INET;
        source.sin_addr.s_addr =
            htonl(0x7F000001u + c.index % static_cast<uint32_t>(options_.source_ips));
        if (bind(c.fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
            fail(c, std::string{"bind to a 127.0.0.x source: "} + std::strerror(errno));
            return;
        }
    }
    if (connect(c.fd, url_.sockaddr_ptr(), sizeof(sockaddr_in)) != 0 && errno != EINPROGRESS) {
        int err = errno;
        fail(c, std::string{"connect: "} + std::strerror(err) +
                    (err == EADDRNOTAVAIL ? " (out of ephemeral ports: use --source-ips)" : ""));
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = c.index;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
    c.write_armed = true;
}

void Runner::finish_connect(Conn& c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        fail(c, std::string{"connect: "} + std::strerror(err));
        return;
    }
    c.state = ConnState::upgrading;
    c.out = upgrade_request(url_, std::string_view{c.key, sizeof c.key});
    c.out_offset = 0;
    if (write_out(c)) set_write_interest(c, false);
}

void Runner::expire_handshakes() {
    for (uint32_t i = 0; i < opened_; ++i) {
        Conn& c = conns_[i];
        if (c.state != ConnState::ready && c.state != ConnState::closed &&
            now_ - c.opened_ns > handshake_timeout_ns)
            fail(c, c.state == ConnState::handshaking ? "protocol handshake timed out after 15 s"
                                                      : "connect/upgrade timed out after 15 s");
    }
}

void Runner::on_readable(Conn& c) {
    for (int round = 0; round < 4; ++round) {
        ssize_t got = recv(c.fd, scratch_.data(), scratch_.size(), 0);
        if (got == 0) {
            fail(c, "closed by the server");
            return;
        }
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            fail(c, std::string{"read: "} + std::strerror(errno));
            return;
        }
        now_ = monotonic_ns();
        auto size = static_cast<std::size_t>(got);
        if (c.pending.empty()) {
            std::size_t used = consume_input(c, scratch_.data(), size);
            if (c.state == ConnState::closed) return;
            if (used < size) c.pending.assign(scratch_.data() + used, size - used);
        } else {
            c.pending.append(scratch_.data(), size);
            std::size_t used = consume_input(c, c.pending.data(), c.pending.size());
            if (c.state == ConnState::closed) return;
            c.pending.erase(0, used);
        }
        if (size < scratch_.size()) return;
    }
}

void Runner::on_writable(Conn& c) {
    if (ingress_running_ && c.state == ConnState::ready) {
        pump_ingress(c);
        return;
    }
    if (write_out(c)) set_write_interest(c, false);
}

std::size_t Runner::consume_input(Conn& c, char* data, std::size_t size) {
    std::size_t used = 0;
    if (c.state == ConnState::upgrading) {
        UpgradeAnswer answer = read_upgrade_answer(std::string_view{data, size},
                                                   std::string_view{c.key, sizeof c.key});
        if (answer.status == UpgradeAnswer::incomplete) return 0;
        if (answer.status == UpgradeAnswer::refused) {
            fail(c, answer.reason);
            return size;
        }
        used = answer.header_bytes;
        start_protocol(c);
    }
    while (used < size && c.state != ConnState::closed) {
        WsFrame frame;
        std::ptrdiff_t n = parse_server_frame(data + used, size - used, frame, max_message_bytes);
        if (n == 0) break;
        if (n < 0) {
            fail(c, "malformed or oversized WebSocket frame from the server");
            return size;
        }
        used += static_cast<std::size_t>(n);
        on_frame(c, frame);
    }
    return used;
}

void Runner::on_frame(Conn& c, const WsFrame& frame) {
    switch (frame.opcode) {
        case ws_opcode::text:
        case ws_opcode::binary:
            if (frame.fin) {
                on_message(c, frame.payload);
            } else {
                c.fragments.assign(frame.payload);
                c.fragment_opcode = frame.opcode;
            }
            return;
        case ws_opcode::continuation:
            if (c.fragment_opcode == 0) {
                fail(c, "continuation frame without a first fragment");
                return;
            }
            c.fragments.append(frame.payload);
            if (c.fragments.size() > max_message_bytes) {
                fail(c, "fragmented message over 16 MiB");
                return;
            }
            if (frame.fin) {
                c.fragment_opcode = 0;
                on_message(c, c.fragments);
                c.fragments.clear();
            }
            return;
        case ws_opcode::close:
            on_close_frame(c, frame.payload);
            return;
        case ws_opcode::ping:
            send_control(c, ws_opcode::pong, frame.payload);
            return;
        case ws_opcode::pong:
            return;
        default:
            fail(c, "unknown WebSocket opcode from the server");
            return;
    }
}

void Runner::on_close_frame(Conn& c, std::string_view payload) {
    unsigned code = 1005;
    if (payload.size() >= 2)
        code = (static_cast<unsigned>(static_cast<uint8_t>(payload[0])) << 8) |
               static_cast<uint8_t>(payload[1]);
    send_control(c, ws_opcode::close, payload.substr(0, std::min<std::size_t>(payload.size(), 2)));
    write_out(c);
    std::string reason = "server closed the WebSocket with code " + std::to_string(code);
    if (payload.size() > 2) reason += " (" + std::string{payload.substr(2)} + ")";
    fail(c, reason);
}

void Runner::start_protocol(Conn& c) {
    c.state = ConnState::handshaking;
    c.step = 0;
    switch (options_.proto) {
        case Proto::adashta:
            send_message(c, hello_);
            return;
        case Proto::ws:
            mark_ready(c);
            return;
        case Proto::socketio:  // waits for the engine.io open packet
        case Proto::nats:      // waits for INFO
            return;
    }
}

void Runner::mark_ready(Conn& c) {
    c.state = ConnState::ready;
    --in_flight_;
    ++ready_now_;
    ++ever_ready_;
    if (options_.scenario == Scenario::idle)
        latency_.record(static_cast<uint64_t>((now_ - c.opened_ns) / 1000));
    if (options_.scenario == Scenario::durable) {
        auto window = static_cast<std::size_t>(options_.window);
        c.slot_ref.assign(window, 0);
        c.slot_sent_ns.assign(window, 0);
        c.free_slots.clear();
        for (std::size_t i = window; i > 0; --i)
            c.free_slots.push_back(static_cast<uint32_t>(i - 1));
    }
}

void Runner::fail(Conn& c, std::string_view reason) {
    if (c.state == ConnState::closed) return;
    if (c.state == ConnState::ready) {
        --ready_now_;
        ++dropped_;
    } else {
        --in_flight_;
        ++failed_connects_;
    }
    if (c.fd >= 0) ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    c.state = ConnState::closed;
    c.pending = std::string{};
    c.out = std::string{};
    c.out_offset = 0;
    c.fragments = std::string{};
    if (failures_logged_ < max_failures_logged) {
        ++failures_logged_;
        std::fprintf(stderr, "adashta-bench: connection %u to %s: %.*s\n", c.index,
                     url_.text.c_str(), static_cast<int>(reason.size()), reason.data());
    }
}

// ---------------------------------------------------------------------------------------
// Protocols

void Runner::on_message(Conn& c, std::string_view message) {
    switch (options_.proto) {
        case Proto::adashta:
            on_adashta_message(c, message);
            return;
        case Proto::socketio:
            on_socketio_message(c, message);
            return;
        case Proto::ws:
            on_ws_message(c, message);
            return;
        case Proto::nats: {
            c.nats.append(message.data(), message.size());
            NatsEvent event;
            while (c.state != ConnState::closed && c.nats.next(event)) on_nats_event(c, event);
            if (c.state != ConnState::closed) c.nats.compact();
            return;
        }
    }
}

void Runner::on_adashta_message(Conn& c, std::string_view message) {
    std::string_view type = json_string(message, "\"type\"");
    if (c.state == ConnState::handshaking) {
        if (c.step == 0 && type == "welcome") {
            if (options_.scenario != Scenario::reqrep) {
                mark_ready(c);
                return;
            }
            send_message(c, R"({"type":"consume","ref":1,"queue":"echo"})");
            c.step = 1;
        } else if (c.step == 1 && type == "ack") {
            mark_ready(c);
        } else if (type == "error") {
            fail(c, "the edge refused the handshake: " + std::string{message});
        }
        return;
    }
    uint64_t number = 0;
    if (type == "message") {
        if (options_.scenario == Scenario::reqrep &&
            leading_uint(json_string(message, "\"data\""), number))
            on_reply(c, number);
    } else if (type == "ack") {
        if (options_.scenario == Scenario::durable &&
            leading_uint(json_value(message, "\"ref\""), number))
            on_durable_answer(c, number, true);
    } else if (type == "error") {
        if (options_.scenario == Scenario::durable &&
            leading_uint(json_value(message, "\"ref\""), number)) {
            on_durable_answer(c, number, false);
            if (protocol_errors_ <= 3)
                std::fprintf(stderr, "adashta-bench: the edge refused a produce: %.*s\n",
                             static_cast<int>(message.size()), message.data());
        } else {
            note_protocol_error(message);
        }
    }
}

void Runner::on_socketio_message(Conn& c, std::string_view message) {
    if (message == "2") {  // engine.io ping
        send_message(c, "3");
        return;
    }
    if (c.state == ConnState::handshaking) {
        if (c.step == 0 && starts_with(message, "0")) {
            send_message(c, "40");
            c.step = 1;
        } else if (c.step == 1 && starts_with(message, "40")) {
            mark_ready(c);
        } else if (starts_with(message, "44")) {
            fail(c, "Socket.IO refused the connection: " + std::string{message});
        }
        return;
    }
    if (starts_with(message, "42")) {
        if (options_.scenario != Scenario::reqrep) return;
        std::size_t comma = message.find("\",\"");
        uint64_t seq = 0;
        if (comma != std::string_view::npos && leading_uint(message.substr(comma + 3), seq))
            on_reply(c, seq);
    } else if (starts_with(message, "1") || starts_with(message, "41")) {
        fail(c, "Socket.IO closed the session");
    }
}

void Runner::on_ws_message(Conn& c, std::string_view message) {
    uint64_t seq = 0;
    if (options_.scenario == Scenario::reqrep && leading_uint(message, seq)) on_reply(c, seq);
}

void Runner::on_nats_event(Conn& c, const NatsEvent& event) {
    switch (event.op) {
        case NatsOp::info:
            if (c.state == ConnState::handshaking && c.step == 0) {
                payload_.assign(
                    R"(CONNECT {"verbose":false,"pedantic":false,"headers":false,"name":"adashta-bench"})"
                    "\r\n");
                if (options_.scenario == Scenario::reqrep) {
                    payload_ += "SUB _INBOX.";
                    append_uint(payload_, c.index);
                    payload_ += " 1\r\n";
                } else if (options_.scenario == Scenario::durable) {
                    payload_ += "SUB _INBOX.";
                    append_uint(payload_, c.index);
                    payload_ += ".* 1\r\n";
                }
                payload_ += "PING\r\n";
                send_message(c, payload_);
                c.step = 1;
            }
            return;
        case NatsOp::ping:
            send_message(c, "PONG\r\n");
            return;
        case NatsOp::pong:
            if (c.state == ConnState::handshaking && c.step == 1) mark_ready(c);
            return;
        case NatsOp::msg:
            on_nats_inbox(c, event.subject, event.payload);
            return;
        case NatsOp::err:
            if (c.state == ConnState::handshaking)
                fail(c, "NATS refused the connection: " + std::string{event.line});
            else
                note_protocol_error(event.line);
            return;
        case NatsOp::ok:
        case NatsOp::unknown:
            return;
    }
}

void Runner::on_nats_inbox(Conn& c, std::string_view subject, std::string_view payload) {
    constexpr std::string_view inbox = "_INBOX.";
    if (!starts_with(subject, inbox)) return;
    subject.remove_prefix(inbox.size());
    std::size_t dot = subject.find('.');
    if (options_.scenario == Scenario::reqrep) {
        uint64_t seq = 0;
        if (dot == std::string_view::npos && leading_uint(payload, seq)) on_reply(c, seq);
        return;
    }
    if (dot == std::string_view::npos) return;
    std::string_view token = subject.substr(dot + 1);
    bool refused = payload.find("\"error\"") != std::string_view::npos;
    if (token == "create") {
        if (!refused) {
            stream_ = StreamState::ready;
        } else if (payload.find("already in use") != std::string_view::npos ||
                   payload.find("10058") != std::string_view::npos) {
            std::fprintf(
                stderr,
                "adashta-bench: stream BENCH exists with another configuration; using it\n");
            stream_ = StreamState::ready;
        } else {
            stream_error_ = std::string{payload};
            stream_ = StreamState::failed;
        }
        return;
    }
    uint64_t ref = 0;
    if (leading_uint(token, ref)) {
        if (refused && protocol_errors_ < 3)
            std::fprintf(stderr, "adashta-bench: JetStream refused a publish: %.*s\n",
                         static_cast<int>(payload.size()), payload.data());
        on_durable_answer(c, ref, !refused);
    }
}

void Runner::note_protocol_error(std::string_view what) {
    ++protocol_errors_;
    if (protocol_errors_ <= 3)
        std::fprintf(stderr, "adashta-bench: error from %s: %.*s\n", url_.text.c_str(),
                     static_cast<int>(std::min<std::size_t>(what.size(), 300)), what.data());
}

// ---------------------------------------------------------------------------------------
// Output

void Runner::send_message(Conn& c, std::string_view payload) {
    append_client_frame(c.out, opcode_, payload, next_mask(c.mask_state));
    mark_dirty(c);
}

void Runner::send_control(Conn& c, uint8_t opcode, std::string_view payload) {
    append_client_frame(c.out, opcode, payload, next_mask(c.mask_state));
    mark_dirty(c);
}

bool Runner::write_out(Conn& c) {
    while (c.out_offset < c.out.size()) {
        ssize_t n = send(c.fd, c.out.data() + c.out_offset, c.out.size() - c.out_offset,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
            if (errno == EINTR) continue;
            fail(c, std::string{"write: "} + std::strerror(errno));
            return false;
        }
        c.out_offset += static_cast<std::size_t>(n);
    }
    c.out.clear();
    c.out_offset = 0;
    return true;
}

void Runner::pump_ingress(Conn& c) {
    for (int round = 0; round < 4 && c.state == ConnState::ready; ++round) {
        const bool at_boundary = c.batch_offset % frame_bytes_ == 0;
        const bool has_out = c.out_offset < c.out.size();
        if (has_out && at_boundary) {  // control frames (pong, close) go between messages
            if (!write_out(c)) return;
            continue;
        }
        std::size_t end =
            has_out ? (c.batch_offset / frame_bytes_ + 1) * frame_bytes_ : batch_.size();
        std::size_t want = end - c.batch_offset;
        ssize_t n = send(c.fd, batch_.data() + c.batch_offset, want, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            fail(c, std::string{"write: "} + std::strerror(errno));
            return;
        }
        c.batch_offset += static_cast<std::size_t>(n);
        c.ingress_bytes += static_cast<uint64_t>(n);
        if (c.batch_offset == batch_.size()) c.batch_offset = 0;
        if (static_cast<std::size_t>(n) < want) return;  // the kernel buffer is full
    }
}

void Runner::mark_dirty(Conn& c) {
    if (c.dirty) return;
    c.dirty = true;
    dirty_.push_back(c.index);
}

void Runner::flush_dirty() {
    for (uint32_t index : dirty_) {
        Conn& c = conns_[index];
        c.dirty = false;
        if (c.state == ConnState::closed || c.state == ConnState::connecting) continue;
        if (ingress_running_ && c.state == ConnState::ready) continue;  // EPOLLOUT pumps it
        if (!write_out(c) && c.state != ConnState::closed) set_write_interest(c, true);
    }
    dirty_.clear();
}

void Runner::set_write_interest(Conn& c, bool on) {
    if (c.write_armed == on || c.fd < 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.u64 = c.index;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.write_armed = on;
}

// ---------------------------------------------------------------------------------------
// Scenario actions

void Runner::build_ingress_batch() {
    payload_.clear();
    switch (options_.proto) {
        case Proto::adashta:
            payload_ += R"({"type":"produce","queue":"bench","data":")";
            payload_ += pad_;
            payload_ += "\"}";
            break;
        case Proto::socketio:
            payload_ += R"(42["bench",")";
            payload_ += pad_;
            payload_ += "\"]";
            break;
        case Proto::ws:
            payload_ = pad_;
            break;
        case Proto::nats:
            payload_ += "PUB bench ";
            append_uint(payload_, pad_.size());
            payload_ += "\r\n";
            payload_ += pad_;
            payload_ += "\r\n";
            break;
    }
    // One mask for every ingress frame: the server unmasks whatever it is, and a constant
    // batch lets every connection share these bytes.
    uint32_t mask_state = static_cast<uint32_t>(monotonic_ns()) | 1u;
    const uint32_t mask = next_mask(mask_state);
    frame_bytes_ = client_frame_size(payload_.size());
    std::size_t copies = std::max<std::size_t>(1, ingress_batch_bytes / frame_bytes_);
    batch_.clear();
    batch_.reserve(copies * frame_bytes_);
    for (std::size_t i = 0; i < copies; ++i) append_client_frame(batch_, opcode_, payload_, mask);
}

void Runner::append_data(std::string& s, uint64_t seq) const {
    std::size_t before = s.size();
    append_uint(s, seq);
    s.push_back(':');
    std::size_t used = s.size() - before;
    if (used < pad_.size()) s.append(pad_.data(), pad_.size() - used);
}

void Runner::send_request(Conn& c, uint64_t seq) {
    ++sent_;
    if (c.out.size() - c.out_offset > max_out_bytes) {
        ++backlog_drops_;
        return;
    }
    c.last_send_ns = now_;
    if (options_.rate > 0) {
        const int64_t slot = run_start_ns_ + static_cast<int64_t>(
                                                 static_cast<double>(seq - phase_first_seq_) *
                                                 1e9 / options_.rate);
        send_lag_.record(static_cast<uint64_t>(std::max<int64_t>(0, now_ - slot) / 1000));
    }
    payload_.clear();
    switch (options_.proto) {
        case Proto::adashta:
            payload_ += R"({"type":"produce","queue":"echo","data":")";
            append_data(payload_, seq);
            payload_ += "\"}";
            break;
        case Proto::socketio:
            payload_ += R"(42["echo",")";
            append_data(payload_, seq);
            payload_ += "\"]";
            break;
        case Proto::ws:
            append_data(payload_, seq);
            break;
        case Proto::nats:
            data_.clear();
            append_data(data_, seq);
            payload_ += "PUB echo _INBOX.";
            append_uint(payload_, c.index);
            payload_.push_back(' ');
            append_uint(payload_, data_.size());
            payload_ += "\r\n";
            payload_ += data_;
            payload_ += "\r\n";
            break;
    }
    send_message(c, payload_);
}

Conn* Runner::next_request_conn(uint64_t seq) {
    const std::size_t n = ready_list_.size();
    for (std::size_t i = 0; i < n; ++i) {
        Conn& c = conns_[ready_list_[(seq + i) % n]];
        if (c.state == ConnState::ready) return &c;
    }
    return nullptr;
}

void Runner::on_reply(Conn& c, uint64_t seq) {
    if (seq >= sent_) return;  // not ours
    std::size_t word = static_cast<std::size_t>(seq >> 6);
    if (word >= answered_bits_.size())
        answered_bits_.resize(std::max(word + 1, answered_bits_.size() * 2));
    uint64_t bit = uint64_t{1} << (seq & 63);
    if (answered_bits_[word] & bit) return;  // a duplicate delivery
    answered_bits_[word] |= bit;
    if (seq < phase_first_seq_) return;  // an earlier phase's, after its grace
    ++answered_;
    int64_t start = c.last_send_ns;
    if (options_.rate > 0)
        start = run_start_ns_ +
                static_cast<int64_t>(static_cast<double>(seq - phase_first_seq_) * 1e9 /
                                     options_.rate);
    latency_.record(static_cast<uint64_t>(std::max<int64_t>(0, now_ - start) / 1000));
    if (options_.rate <= 0 && load_running_) send_request(c, sent_);
}

void Runner::fill_window(Conn& c) {
    while (!c.free_slots.empty()) {
        uint32_t slot = c.free_slots.back();
        c.free_slots.pop_back();
        uint64_t ref = c.next_ref_round++ * static_cast<uint64_t>(options_.window) + slot;
        c.slot_ref[slot] = ref;
        c.slot_sent_ns[slot] = now_;
        ++sent_;
        payload_.clear();
        if (options_.proto == Proto::adashta) {
            payload_ += R"({"type":"produce","ref":)";
            append_uint(payload_, ref);
            payload_ += R"(,"queue":"durable","data":")";
            payload_ += pad_;
            payload_ += "\"}";
        } else {
            payload_ += "PUB js.bench _INBOX.";
            append_uint(payload_, c.index);
            payload_.push_back('.');
            append_uint(payload_, ref);
            payload_.push_back(' ');
            append_uint(payload_, pad_.size());
            payload_ += "\r\n";
            payload_ += pad_;
            payload_ += "\r\n";
        }
        send_message(c, payload_);
    }
}

void Runner::on_durable_answer(Conn& c, uint64_t ref, bool ok) {
    if (c.slot_ref.empty()) return;
    auto slot = static_cast<uint32_t>(ref % static_cast<uint64_t>(options_.window));
    if (c.slot_ref[slot] != ref) return;  // stale or unknown ref
    c.slot_ref[slot] = 0;
    c.free_slots.push_back(slot);
    if (!load_running_) return;
    if (ok) {
        ++answered_;
        latency_.record(static_cast<uint64_t>((now_ - c.slot_sent_ns[slot]) / 1000));
    } else {
        ++protocol_errors_;
    }
    fill_window(c);
}

// ---------------------------------------------------------------------------------------
// Reporting

uint64_t Runner::ingress_sent() const {
    uint64_t total = 0;
    if (frame_bytes_ == 0) return 0;
    for (const Conn& c : conns_) total += c.ingress_bytes / frame_bytes_;
    return total;
}

void Runner::print_progress(bool force) {
    if (!force && now_ - last_progress_ns_ < ns_per_s) return;
    last_progress_ns_ = now_;
    uint64_t sent =
        options_.scenario == Scenario::ingress ? ingress_sent() : sent_ - phase_first_seq_;
    std::fprintf(stderr,
                 "adashta-bench: %6.1fs up=%u connecting=%u sent=%llu answered=%llu errors=%llu\n",
                 static_cast<double>(now_ - start_ns_) / ns_per_s, ready_now_, in_flight_,
                 static_cast<unsigned long long>(sent), static_cast<unsigned long long>(answered_),
                 static_cast<unsigned long long>(errors()));
}

void Runner::print_result(double duration_s) {
    const bool ingress = options_.scenario == Scenario::ingress;
    const uint64_t sent = ingress ? ingress_sent() : sent_ - phase_first_seq_;
    double rate = 0;
    if (duration_s > 0) {
        if (ingress)
            rate = static_cast<double>(sent) / duration_s;
        else if (options_.scenario != Scenario::idle)
            rate = static_cast<double>(answered_) / duration_s;
    }
    // A phase before the last is an event line; the last line is always the result.
    const bool more_phases = options_.scenario == Scenario::reqrep && phase_ < options_.phases;
    std::string line = more_phases ? "{\"event\":\"phase_done\",\"tool\":\"adashta-bench\","
                                     "\"scenario\":\""
                                   : "{\"tool\":\"adashta-bench\",\"scenario\":\"";
    line += scenario_name(options_.scenario);
    line += "\",\"proto\":\"";
    line += proto_name(options_.proto);
    line += "\",\"connections\":" + std::to_string(ever_ready_);
    line += ",\"requested\":" + std::to_string(options_.connections);
    line += ",\"duration_s\":" + format_double(duration_s, 3);
    line += ",\"size\":" + std::to_string(options_.size);
    if (options_.scenario == Scenario::reqrep)
        line += ",\"offered_rate\":" + format_double(options_.rate, 0);
    if (options_.scenario == Scenario::durable)
        line += ",\"window\":" + std::to_string(options_.window);
    line += ",\"sent\":" + std::to_string(sent);
    line += ",\"answered\":" + std::to_string(answered_);
    if (options_.scenario == Scenario::reqrep) {
        line += ",\"lost\":" + std::to_string(sent - answered_);
        if (options_.phases > 1)
            line += ",\"phase\":" + std::to_string(phase_) +
                    ",\"phases\":" + std::to_string(options_.phases);
    }
    line += ",\"errors\":" + std::to_string(errors());
    line += ",\"failed_connections\":" + std::to_string(failed_connects_);
    line += ",\"dropped_connections\":" + std::to_string(dropped_);
    if (options_.scenario == Scenario::idle) {
        line += ",\"open_at_end\":" + std::to_string(ready_now_);
        line += ",\"connect_ms\":" +
                format_double(static_cast<double>(run_start_ns_ - start_ns_) / ns_per_ms, 0);
    }
    line += ",\"rate\":" + format_double(rate, 1);
    if (ingress && middle_ns_ > 0 && run_end_ns_ > middle_ns_)
        line += ",\"steady_rate\":" +
                format_double(static_cast<double>(sent - middle_sent_) * ns_per_s /
                                  static_cast<double>(run_end_ns_ - middle_ns_),
                              1);
    // idle: the latency is connect + upgrade + protocol handshake of each connection.
    if (options_.scenario == Scenario::reqrep && options_.rate > 0)
        line += ",\"send_lag_us\":" + send_lag_.to_json();
    line += ",\"latency_us\":" + latency_.to_json() + "}\n";
    print_progress(true);
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
}
