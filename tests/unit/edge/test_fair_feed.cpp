#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fair_feed.hpp"

using adashta::edge::FairFeed;
namespace store = adashta::store;

namespace {

// A write whose completion records its name (the store runs it after the work).
store::Write named(std::vector<std::string>& ran, std::string name) {
    return {[](store::Tx&) -> adashta::Status { return {}; },
            [&ran, name](const adashta::Status&) { ran.push_back(name); }, store::Atomic::ordered};
}

std::vector<std::string> names(FairFeed& feed, std::size_t most, bool& more,
                               std::vector<std::string>& log, std::size_t most_bytes = 1 << 20) {
    std::vector<store::Write> taken;
    more = feed.take(most, most_bytes, taken);
    log.clear();
    for (auto& w : taken) w.done(adashta::Status{});
    return log;
}

}  // namespace

TEST_CASE("a flooding session's backlog does not stand before another session's write",
          "[fair_feed]") {
    FairFeed feed;
    std::vector<std::string> log;
    for (int i = 0; i < 1000; ++i) feed.add("flooder", named(log, "f" + std::to_string(i)), 100);
    feed.add("quiet", named(log, "q"), 100);
    CHECK(feed.waiting() == 1001);
    CHECK(feed.sessions() == 2);
    bool more = false;
    const auto first = names(feed, 16, more, log);
    REQUIRE(first.size() == 16);
    CHECK(more);
    // The flooder's turn (512 bytes of credit: five writes of 100), then the quiet one's.
    CHECK(first[5] == "q");
    CHECK(feed.sessions() == 1);
}

TEST_CASE("a session's writes are taken in the order they were added", "[fair_feed]") {
    FairFeed feed;
    std::vector<std::string> log;
    for (int i = 0; i < 50; ++i) {
        feed.add("a", named(log, "a" + std::to_string(i)), 300);
        feed.add("b", named(log, "b" + std::to_string(i)), 40);
    }
    std::vector<std::string> all;
    bool more = true;
    while (more) {
        const auto some = names(feed, 7, more, log);
        all.insert(all.end(), some.begin(), some.end());
    }
    REQUIRE(all.size() == 100);
    int next_a = 0;
    int next_b = 0;
    for (const auto& name : all) {
        if (name[0] == 'a')
            CHECK(name == "a" + std::to_string(next_a++));
        else
            CHECK(name == "b" + std::to_string(next_b++));
    }
    CHECK(feed.waiting() == 0);
    CHECK(feed.sessions() == 0);
}

TEST_CASE("large writes get their share by bytes, not by count", "[fair_feed]") {
    FairFeed feed;
    std::vector<std::string> log;
    for (int i = 0; i < 20; ++i) feed.add("big", named(log, "B"), 16 * 1024);
    for (int i = 0; i < 200; ++i) feed.add("small", named(log, "s"), 256);
    bool more = false;
    const auto first = names(feed, 64, more, log);
    int big = 0;
    for (const auto& name : first) big += name == "B";
    // 16 KiB needs 32 turns of credit (512 bytes each): meanwhile the small session's turns
    // take two writes each, so the round of 64 has at most one large write.
    CHECK(big <= 1);
    CHECK(first.size() == 64);
}

TEST_CASE("a round stops at its bytes, but always takes one write", "[fair_feed]") {
    FairFeed feed;
    std::vector<std::string> log;
    feed.add("alone", named(log, "x"), 1 << 20);
    feed.add("alone", named(log, "y"), 1 << 20);
    bool more = false;
    CHECK(names(feed, 100, more, log, 4096) == std::vector<std::string>{"x"});
    CHECK(more);
    CHECK(names(feed, 100, more, log, 4096) == std::vector<std::string>{"y"});
    CHECK_FALSE(more);
}
