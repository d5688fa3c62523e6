#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

#include "sessions.hpp"

using namespace adashta::edge;
using namespace std::chrono_literals;

TEST_CASE("a session outlives its connection and is resumed by id", "[sessions]") {
    Sessions s;
    const auto t0 = Clock::now();
    Connection& first = s.open(nullptr, t0);
    CHECK_FALSE(s.bind(first, "s-aaaaaaaa").resumed);
    CHECK(s.connection_of("s-aaaaaaaa") == &first);
    s.close(first, t0);
    CHECK(s.connection_of("s-aaaaaaaa") == nullptr);
    CHECK(s.session_count() == 1);

    Connection& second = s.open(nullptr, t0 + 1s);
    const auto bound = s.bind(second, "s-aaaaaaaa");
    CHECK(bound.resumed);
    CHECK(bound.replaced == nullptr);
    CHECK(s.connection_of("s-aaaaaaaa") == &second);
}

TEST_CASE("a second connection with the same session takes it over", "[sessions]") {
    Sessions s;
    const auto now = Clock::now();
    Connection& old_one = s.open(nullptr, now);
    (void)s.bind(old_one, "s-bbbbbbbb");
    Connection& new_one = s.open(nullptr, now);
    const auto bound = s.bind(new_one, "s-bbbbbbbb");
    CHECK(bound.replaced == &old_one);
    // Closing the replaced connection leaves the session with the new one.
    s.close(old_one, now);
    CHECK(s.connection_of("s-bbbbbbbb") == &new_one);
}

TEST_CASE("subscribers are found by queue and forgotten when their connection closes",
          "[sessions]") {
    Sessions s;
    const auto now = Clock::now();
    Connection& a = s.open(nullptr, now);
    Connection& b = s.open(nullptr, now);
    s.subscribe(a, "news");
    s.subscribe(b, "news");
    s.subscribe(b, "chat");
    std::vector<std::uint64_t> got;
    s.for_each_subscriber("news", [&](Connection& c) { got.push_back(c.serial); });
    CHECK(got.size() == 2);
    s.unsubscribe(b, "news");
    const auto a_serial = a.serial;
    s.close(a, now);  // frees a
    got.clear();
    s.for_each_subscriber("news", [&](Connection& c) { got.push_back(c.serial); });
    CHECK(got.empty());
    s.for_each_subscriber("chat", [&](Connection& c) { got.push_back(c.serial); });
    CHECK(got == std::vector<std::uint64_t>{b.serial});
    CHECK(s.find(a_serial) == nullptr);
}

TEST_CASE("offline sessions expire after the ttl; online ones never do", "[sessions]") {
    Sessions s;
    const auto t0 = Clock::now();
    Connection& gone = s.open(nullptr, t0);
    (void)s.bind(gone, "s-offline1");
    s.close(gone, t0);
    Connection& here = s.open(nullptr, t0);
    (void)s.bind(here, "s-online11");
    CHECK(s.expire(t0 + 299s, 300s).empty());
    CHECK(s.expire(t0 + 301s, 300s).size() == 1);
    CHECK(s.session_count() == 1);
    CHECK(s.connection_of("s-online11") == &here);
}
