#include <catch2/catch.hpp>

#include <chrono>

#include "adashta/mesh/membership.hpp"

using namespace adashta::mesh;
using namespace std::chrono_literals;
using adashta::wire::Role;

namespace {

PeerInfo peer(std::string id, std::string endpoint, std::vector<std::string> queues = {},
              Role role = Role::Node) {
    PeerInfo p;
    p.id = std::move(id);
    p.endpoint = std::move(endpoint);
    p.queues = std::move(queues);
    p.role = role;
    return p;
}

}  // namespace

TEST_CASE("a hello from a new id is a join; a new queue set is a change", "[membership]") {
    Membership m;
    const auto t0 = Clock::now();
    std::optional<PeerInfo> replaced;
    CHECK(m.apply_hello(peer("a", "tcp://h:1", {"q"}), t0, &replaced) ==
          Membership::Change::joined);
    CHECK(m.apply_hello(peer("a", "tcp://h:1", {"q"}), t0, &replaced) == Membership::Change::none);
    const auto epoch = m.epoch();
    CHECK(m.apply_hello(peer("a", "tcp://h:1", {"q", "r"}), t0, &replaced) ==
          Membership::Change::changed);
    CHECK(m.epoch() != epoch);
    CHECK_FALSE(replaced);
}

TEST_CASE("a new id at a known endpoint replaces the peer that restarted", "[membership]") {
    Membership m;
    std::optional<PeerInfo> replaced;
    const auto now = Clock::now();
    REQUIRE(m.apply_hello(peer("old", "tcp://h:1"), now, &replaced) == Membership::Change::joined);
    CHECK(m.apply_hello(peer("new", "tcp://h:1"), now, &replaced) == Membership::Change::joined);
    REQUIRE(replaced);
    CHECK(replaced->id == "old");
    CHECK_FALSE(m.find("old"));
    CHECK(m.find_by_endpoint("tcp://h:1")->id == "new");
}

TEST_CASE("silent peers expire; heard ones stay", "[membership]") {
    Membership m;
    const auto t0 = Clock::now();
    std::optional<PeerInfo> replaced;
    (void)m.apply_hello(peer("quiet", "tcp://h:1"), t0, &replaced);
    (void)m.apply_hello(peer("chatty", "tcp://h:2"), t0, &replaced);
    CHECK(m.touch("chatty", t0 + 2s));
    CHECK_FALSE(m.touch("stranger", t0 + 2s));
    const auto gone = m.expire(t0 + 3500ms, 3s);
    REQUIRE(gone.size() == 1);
    CHECK(gone[0].id == "quiet");
    CHECK(m.find("chatty"));
}

TEST_CASE("a peer that beats slowly gets three of its beats before it expires", "[membership]") {
    // Members with different settings must not drop each other between two heartbeats.
    Membership m;
    const auto t0 = Clock::now();
    std::optional<PeerInfo> replaced;
    PeerInfo slow = peer("slow", "tcp://h:1");
    slow.heartbeat = 1s;
    (void)m.apply_hello(slow, t0, &replaced);
    CHECK(m.expire(t0 + 2500ms, 1s).empty());
    CHECK(m.expire(t0 + 3100ms, 1s).size() == 1);
}

TEST_CASE("only server nodes are consumers, edges and tools never own sessions", "[membership]") {
    Membership m;
    const auto now = Clock::now();
    std::optional<PeerInfo> replaced;
    (void)m.apply_hello(peer("n2", "tcp://h:2", {"chat"}), now, &replaced);
    (void)m.apply_hello(peer("n1", "tcp://h:1", {"chat", "echo"}), now, &replaced);
    (void)m.apply_hello(peer("e", "tcp://h:3", {"chat"}, Role::Edge), now, &replaced);
    (void)m.apply_hello(peer("t", "tcp://h:4", {"chat"}, Role::Tool), now, &replaced);
    for (const char* id : {"n1", "n2", "e", "t"}) CHECK(m.confirm(id));
    CHECK(m.consumers("chat") == std::vector<std::string>{"n1", "n2"});
    CHECK(m.consumers("echo") == std::vector<std::string>{"n1"});
    CHECK(m.consumers("none").empty());
    CHECK(m.remove("n1"));
    CHECK(m.consumers("chat") == std::vector<std::string>{"n2"});
    CHECK_FALSE(m.remove("n1"));
}

TEST_CASE("a node consumes only once it has shown that it knows us", "[membership]") {
    // Until then it would drop what we route to it as coming from a stranger.
    Membership m;
    std::optional<PeerInfo> replaced;
    (void)m.apply_hello(peer("n1", "tcp://h:1", {"chat"}), Clock::now(), &replaced);
    CHECK(m.consumers("chat").empty());
    const auto epoch = m.epoch();
    REQUIRE(m.confirm("n1"));
    CHECK(m.epoch() != epoch);  // cached rings rebuild
    CHECK(m.consumers("chat") == std::vector<std::string>{"n1"});
    CHECK_FALSE(m.confirm("n1"));  // no news the second time
    CHECK_FALSE(m.confirm("stranger"));
    // A later Hello (new queues) keeps what we learned.
    (void)m.apply_hello(peer("n1", "tcp://h:1", {"chat", "echo"}), Clock::now(), &replaced);
    CHECK(m.consumers("echo") == std::vector<std::string>{"n1"});
}
