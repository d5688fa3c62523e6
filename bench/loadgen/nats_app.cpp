#include "nats_app.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "nats_reader.hpp"
#include "url.hpp"

namespace {

constexpr std::size_t read_bytes = 256 * 1024;
constexpr std::size_t max_out_bytes = 8u << 20;

volatile std::sig_atomic_t stop_requested = 0;

void on_stop_signal(int) {
    stop_requested = 1;
}

int64_t wall_ms() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000;
}

// The connection to the NATS server and what the app has seen on it.
struct NatsApp {
    int fd = -1;                 // TCP socket, non-blocking once connected
    int epoll_fd = -1;           // watches fd
    bool sink = true;            // SUB bench, count it in received
    bool echo = false;           // SUB echo, answer it (counted in received without sink)
    uint64_t echoed = 0;         // echo messages answered
    bool subscribed = false;     // CONNECT/SUB sent after INFO
    bool reading = true;         // EPOLLIN armed (off while out is too big)
    bool writing = false;        // EPOLLOUT armed
    uint64_t received = 0;       // messages on the subscription
    int64_t first_ms = 0;        // wall clock of the first one
    int64_t last_ms = 0;         // wall clock of the latest one
    NatsReader reader;           // the protocol stream
    std::string out;             // bytes for the server
    std::size_t out_offset = 0;  // bytes of out already written
    std::string error;           // why the connection ended, if it did

    void update_interest() {
        bool want_read = out.size() - out_offset < max_out_bytes;
        bool want_write = out_offset < out.size();
        if (want_read == reading && want_write == writing) return;
        reading = want_read;
        writing = want_write;
        epoll_event ev{};
        ev.events = (reading ? EPOLLIN : 0u) | (writing ? EPOLLOUT : 0u);
        epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev);
    }

    bool flush() {
        while (out_offset < out.size()) {
            ssize_t n = send(fd, out.data() + out_offset, out.size() - out_offset, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                if (errno == EINTR) continue;
                error = std::string{"write: "} + std::strerror(errno);
                return false;
            }
            out_offset += static_cast<std::size_t>(n);
        }
        if (out_offset == out.size()) {
            out.clear();
            out_offset = 0;
        }
        update_interest();
        return true;
    }

    void on_event(const NatsEvent& ev, int64_t now_ms) {
        switch (ev.op) {
            case NatsOp::info:
                if (!subscribed) {
                    out +=
                        R"(CONNECT {"verbose":false,"pedantic":false,"headers":false,"name":"nats-app"})"
                        "\r\n";
                    if (sink) out += "SUB bench 1\r\n";
                    if (echo) out += "SUB echo 2\r\n";
                    out += "PING\r\n";
                    subscribed = true;
                }
                return;
            case NatsOp::ping:
                out += "PONG\r\n";
                return;
            case NatsOp::msg: {
                const bool request = echo && ev.subject == "echo";
                if (request) ++echoed;
                if (!request || !sink) {  // both: only the sink's messages count in received
                    ++received;
                    if (first_ms == 0) first_ms = now_ms;
                    last_ms = now_ms;
                }
                if (request && !ev.reply.empty()) {
                    char digits[24];
                    auto end = std::to_chars(digits, digits + sizeof digits, ev.payload.size()).ptr;
                    out += "PUB ";
                    out += ev.reply;
                    out.push_back(' ');
                    out.append(digits, end);
                    out += "\r\n";
                    out += ev.payload;
                    out += "\r\n";
                }
                return;
            }
            case NatsOp::err:
                std::fprintf(stderr, "nats-app: server error: %.*s\n",
                             static_cast<int>(ev.line.size()), ev.line.data());
                return;
            case NatsOp::pong:
            case NatsOp::ok:
            case NatsOp::unknown:
                return;
        }
    }

    // Reads what is there; false when the connection ended.
    bool on_readable(std::vector<char>& buffer) {
        for (int round = 0; round < 16; ++round) {
            ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
            if (n == 0) {
                error = "the server closed the connection";
                return false;
            }
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                if (errno == EINTR) continue;
                error = std::string{"read: "} + std::strerror(errno);
                return false;
            }
            const int64_t now_ms = wall_ms();
            reader.append(buffer.data(), static_cast<std::size_t>(n));
            NatsEvent ev;
            while (reader.next(ev)) on_event(ev, now_ms);
            reader.compact();
            if (static_cast<std::size_t>(n) < buffer.size()) break;
            if (out.size() - out_offset > max_out_bytes) break;
        }
        return flush();
    }
};

}  // namespace

int run_nats_app(const NatsAppOptions& options) {
    std::string error;
    auto url = parse_url(options.url, "nats", error);
    if (!url) {
        std::fprintf(stderr, "nats-app: %s\n", error.c_str());
        return 2;
    }
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    NatsApp app;
    app.sink = options.sink;
    app.echo = options.echo;
    app.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (app.fd < 0 || connect(app.fd, url->sockaddr_ptr(), sizeof(sockaddr_in)) != 0) {
        std::fprintf(stderr,
                     "nats-app: cannot connect to %s: %s; start nats-server (e.g. nats-server -a "
                     "%s -p %u -js)\n",
                     url->text.c_str(), std::strerror(errno), url->host.c_str(), url->port);
        return 1;
    }
    int one = 1;
    setsockopt(app.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int buffer_bytes = 4 << 20;
    setsockopt(app.fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    setsockopt(app.fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
    fcntl(app.fd, F_SETFL, fcntl(app.fd, F_GETFL) | O_NONBLOCK);
    app.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    epoll_ctl(app.epoll_fd, EPOLL_CTL_ADD, app.fd, &ev);
    const char* mode = app.sink && app.echo ? "both" : app.echo ? "echo" : "sink";
    std::fprintf(stderr, "nats-app: %s (SUB%s%s) on %s\n", mode, app.sink ? " bench" : "",
                 app.echo ? " echo" : "", url->text.c_str());

    std::vector<char> buffer(read_bytes);
    uint64_t reported = 0;
    int64_t last_report_ms = wall_ms();
    bool open = true;
    while (open && !stop_requested) {
        epoll_event got{};
        int n = epoll_wait(app.epoll_fd, &got, 1, 200);
        if (n > 0) {
            if (got.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) open = app.on_readable(buffer);
            if (open && (got.events & EPOLLOUT)) open = app.flush();
        }
        int64_t now_ms = wall_ms();
        if (now_ms - last_report_ms >= 1000 && app.received != reported) {
            std::fprintf(stderr, "nats-app: received %llu\n",
                         static_cast<unsigned long long>(app.received));
            reported = app.received;
            last_report_ms = now_ms;
        }
    }
    if (!open) std::fprintf(stderr, "nats-app: %s: %s\n", url->text.c_str(), app.error.c_str());
    double rate = 0;
    if (app.last_ms > app.first_ms)
        rate = static_cast<double>(app.received) * 1000.0 /
               static_cast<double>(app.last_ms - app.first_ms);
    std::printf(
        "{\"tool\":\"nats-app\",\"mode\":\"%s\",\"received\":%llu,\"first_ms\":%lld,"
        "\"last_ms\":%lld,\"rate\":%.1f,\"echoed\":%llu}\n",
        mode, static_cast<unsigned long long>(app.received), static_cast<long long>(app.first_ms),
        static_cast<long long>(app.last_ms), rate, static_cast<unsigned long long>(app.echoed));
    std::fflush(stdout);
    ::close(app.fd);
    ::close(app.epoll_fd);
    return 0;
}
