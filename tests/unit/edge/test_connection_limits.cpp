#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "connection_limits.hpp"

using namespace adashta::edge;

namespace {

// Stands in for the wsi libwebsockets makes: the limits only use it as a key.
lws* fake_wsi(int n) {
    return reinterpret_cast<lws*>(static_cast<std::uintptr_t>(0x1000 + 16 * n));
}

// A connected socket pair: filter() gets one end, the test reads what it wrote on the other.
struct Pair {
    int edge = -1;
    int client = -1;
    Pair() {
        int fds[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        edge = fds[0];
        client = fds[1];
    }
    ~Pair() {
        close(edge);
        close(client);
    }
    std::string received() const {
        char buffer[512] = {};
        const auto n = recv(client, buffer, sizeof buffer - 1, MSG_DONTWAIT);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string{};
    }
};

lws_filter_network_conn_args from(const char* ipv4, int fd) {
    lws_filter_network_conn_args args{};
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, ipv4, &peer.sin_addr) == 1);
    std::memcpy(&args.cli_addr, &peer, sizeof peer);
    args.clilen = sizeof peer;
    args.accept_fd = fd;
    return args;
}

// Lets one socket through filter() and "makes its wsi"; returns whether it was let in.
bool arrive(ConnectionLimits& limits, lws* wsi, const char* ipv4, int fd) {
    const auto args = from(ipv4, fd);
    if (!limits.filter(nullptr, &args)) return false;
    limits.created(wsi);
    return true;
}

}  // namespace

TEST_CASE("conn-limits: past --max-connections a socket is let in to be answered 503", "[conn-limits]") {
    ConnectionLimits limits;
    EdgeOptions options;
    options.max_connections = 2;
    REQUIRE(limits.plan(options));
    Pair a, b, c;
    CHECK(arrive(limits, fake_wsi(1), "127.0.0.1", a.edge));
    CHECK(arrive(limits, fake_wsi(2), "127.0.0.1", b.edge));
    CHECK(arrive(limits, fake_wsi(3), "127.0.0.1", c.edge));
    CHECK_FALSE(limits.refusing(fake_wsi(1)));
    CHECK_FALSE(limits.refusing(fake_wsi(2)));
    CHECK(limits.refusing(fake_wsi(3)));
    CHECK(limits.stats().refused_total == 1);
    CHECK(limits.stats().open == 3);

    // One admitted socket goes: the next one is admitted again.
    limits.destroyed(fake_wsi(1));
    limits.destroyed(fake_wsi(3));
    Pair d;
    CHECK(arrive(limits, fake_wsi(4), "127.0.0.1", d.edge));
    CHECK_FALSE(limits.refusing(fake_wsi(4)));
    CHECK(limits.stats().open == 2);
}

TEST_CASE("conn-limits: one address at --max-connections-per-ip leaves the others in", "[conn-limits]") {
    ConnectionLimits limits;
    EdgeOptions options;
    options.max_connections_per_ip = 1;
    REQUIRE(limits.plan(options));
    Pair a, b, c;
    CHECK(arrive(limits, fake_wsi(1), "127.0.0.1", a.edge));
    CHECK(arrive(limits, fake_wsi(2), "127.0.0.1", b.edge));
    CHECK(arrive(limits, fake_wsi(3), "127.0.0.2", c.edge));
    CHECK(limits.refusing(fake_wsi(2)));
    CHECK_FALSE(limits.refusing(fake_wsi(3)));
    CHECK(limits.stats().refused_per_ip == 1);
    limits.destroyed(fake_wsi(1));
    Pair d;
    CHECK(arrive(limits, fake_wsi(4), "127.0.0.1", d.edge));
    CHECK_FALSE(limits.refusing(fake_wsi(4)));
}

TEST_CASE("conn-limits: with every refusal slot taken a socket gets the fixed 503 at accept", "[conn-limits]") {
    ConnectionLimits limits;
    EdgeOptions options;
    options.max_connections = 1;
    REQUIRE(limits.plan(options));
    std::vector<Pair> pairs(ConnectionLimits::kRefusalSlots + 2);
    CHECK(arrive(limits, fake_wsi(0), "127.0.0.1", pairs[0].edge));
    for (std::size_t i = 1; i <= ConnectionLimits::kRefusalSlots; ++i)
        CHECK(arrive(limits, fake_wsi(static_cast<int>(i)), "127.0.0.1", pairs[i].edge));
    Pair& last = pairs.back();
    CHECK_FALSE(arrive(limits, fake_wsi(99), "127.0.0.1", last.edge));
    const std::string answer = last.received();
    CHECK(answer.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    CHECK(answer.find("Retry-After: 5\r\n") != std::string::npos);
    CHECK(answer.find("too_many_connections") != std::string::npos);
    CHECK(limits.stats().refused_at_accept == 1);
    CHECK(limits.stats().open == ConnectionLimits::kRefusalSlots + 1);
}

TEST_CASE("conn-limits: a cap the soft descriptor limit cannot hold raises it toward the hard one", "[conn-limits]") {
    rlimit original{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &original) == 0);
    rlimit low = original;
    low.rlim_cur = 256;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    ConnectionLimits limits;
    EdgeOptions options;
    options.max_connections = 1000;
    const auto planned_ok = limits.plan(options);
    rlimit now{};
    getrlimit(RLIMIT_NOFILE, &now);
    setrlimit(RLIMIT_NOFILE, &original);
    REQUIRE(planned_ok);
    CHECK(now.rlim_cur == limits.descriptor_limit());
    if (original.rlim_max < 2048) {
        // Raised as far as the hard limit goes, and the cap lowered to what fits there.
        CHECK(limits.descriptor_limit() == original.rlim_max);
        CHECK(limits.max_connections() < 1000);
        return;
    }
    CHECK(limits.max_connections() == 1000);
    CHECK(limits.descriptor_limit() > 1000);
    // The reserve and the refusal slots come on top of the cap.
    CHECK(limits.descriptor_limit() >= 1000 + ConnectionLimits::kReserveBase +
                                           ConnectionLimits::kRefusalSlots);
}
