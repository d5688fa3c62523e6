#include <catch2/catch.hpp>

#include <fstream>

#include "adashta/json.hpp"
#include "admin_snapshot.hpp"
#include "admin_socket.hpp"
#include "edge.hpp"
#include "temp_dir.hpp"

using adashta::Errc;
using namespace adashta::edge;

namespace {

AdminSnapshot with_queue(std::int64_t at_ms, std::uint64_t in, std::uint64_t out,
                         AdminQueueKind kind = AdminQueueKind::stream) {
    AdminSnapshot s;
    s.at_ms = at_ms;
    s.queues.push_back({.name = "orders", .kind = kind, .in_total = in, .out_total = out});
    return s;
}

}  // namespace

TEST_CASE("admin token: off without one, matches only itself", "[admin]") {
    auto off = AdminToken::make({});
    REQUIRE(off);
    CHECK_FALSE(off->enabled());
    CHECK_FALSE(off->matches(""));

    EdgeOptions o;
    o.admin_token = "0123456789abcdef-admin";
    auto token = AdminToken::make(o);
    REQUIRE(token);
    CHECK(token->enabled());
    CHECK(token->matches("0123456789abcdef-admin"));
    CHECK_FALSE(token->matches("0123456789abcdef-admiN"));
    CHECK_FALSE(token->matches("0123456789abcdef-admin "));
    CHECK_FALSE(token->matches(""));
}

TEST_CASE("admin token: a short one, both sources, or an unreadable file stop the edge",
          "[admin]") {
    EdgeOptions weak;
    weak.admin_token = "short";
    auto refused = AdminToken::make(weak);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::bad_option);
    CHECK_THAT(refused.error().detail, Catch::Contains("openssl rand -hex 32"));

    EdgeOptions both;
    both.admin_token = "0123456789abcdef-admin";
    both.admin_token_file = "/nonexistent";
    CHECK_FALSE(AdminToken::make(both));

    EdgeOptions missing;
    missing.admin_token_file = "/nonexistent/admin.token";
    auto unread = AdminToken::make(missing);
    REQUIRE_FALSE(unread);
    CHECK_THAT(unread.error().detail, Catch::Contains("/nonexistent/admin.token"));
}

TEST_CASE("admin token: read from a file without its trailing newline", "[admin]") {
    adashta::test::TempDir dir;
    const auto path = (dir.path / "admin.token").string();
    std::ofstream{path} << "fedcba9876543210-from-a-file\n";
    EdgeOptions o;
    o.admin_token_file = path;
    auto token = AdminToken::make(o);
    REQUIRE(token);
    CHECK(token->matches("fedcba9876543210-from-a-file"));
}

TEST_CASE("admin rates: counters of two snapshots over the time between them", "[admin]") {
    AdminRates rates;
    CHECK(rates.update(with_queue(10'000, 100, 40)).empty());  // nothing to compare with yet
    auto second = rates.update(with_queue(12'000, 160, 50));
    REQUIRE(second.count("stream:orders") == 1);
    CHECK(second["stream:orders"].in == Approx(30.0));
    CHECK(second["stream:orders"].out == Approx(5.0));
    // A counter that went down (the queue was made again) starts over instead of going negative.
    CHECK(rates.update(with_queue(13'000, 3, 1)).empty());
    // A work queue of the same name is another queue.
    CHECK(rates.update(with_queue(14'000, 500, 500, AdminQueueKind::work)).empty());
}

TEST_CASE("admin counts: a bounded number of queues", "[admin]") {
    QueueCounts counts;
    for (std::size_t i = 0; i < kAdminMaxQueues + 10; ++i)
        count_queue(counts, "q" + std::to_string(i));
    count_queue(counts, "q0");
    CHECK(counts.size() == kAdminMaxQueues);
    CHECK(counts["q0"] == 2);
}

TEST_CASE("admin snapshot frame: valid JSON with every section, plugins empty", "[admin]") {
    AdminSnapshot s = with_queue(5000, 7, 3);
    s.started_ms = 2000;
    s.edge_name = "edge \"1\"";
    s.members.push_back({.id = "n1",
                         .name = "orders",
                         .role = "node",
                         .endpoint = "tcp://127.0.0.1:1",
                         .queues = {"orders"},
                         .heard_ms_ago = 120,
                         .ready = true});
    s.clients.push_back({.session = "s-1", .user = "alice", .queues = {"chat"}, .connected_s = 4});
    s.sessions = 2;
    s.connections = 1;
    s.store_bytes = 4096;
    const std::string frame = encode_admin_snapshot(s, {{"stream:orders", {2.5, 1.0}}}, "0.1.0");
    REQUIRE(adashta::json::is_valid(frame));
    auto top = adashta::json::ObjectView::parse(frame);
    REQUIRE(top);
    CHECK(top->string("type") == "snapshot");
    CHECK(top->raw("plugins") == "[]");
    CHECK(top->raw("store") == R"({"bytes":4096})");
    CHECK_THAT(frame, Catch::Contains(R"("name":"edge \"1\"")"));
    CHECK_THAT(frame, Catch::Contains(R"("uptimeS":3)"));
    CHECK_THAT(frame, Catch::Contains(R"("inPerS":2.50,"outPerS":1.00)"));
    CHECK_THAT(frame, Catch::Contains(R"("heardMsAgo":120,"ready":true)"));
    CHECK_THAT(frame, Catch::Contains(R"("total":2,"online":1)"));
}
