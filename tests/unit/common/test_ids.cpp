#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <string_view>

#include "adashta/ids.hpp"
#include "adashta/names.hpp"

namespace {

bool is_crockford_base32(std::string_view s) {
    return s.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ") == std::string_view::npos;
}

bool is_lower_hex(std::string_view s) {
    return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

TEST_CASE("a message id is 26 Crockford base32 characters", "[ids]") {
    const std::string id = adashta::new_message_id();
    CHECK(id.size() == 26);
    CHECK(is_crockford_base32(id));
}

TEST_CASE("message ids strictly increase within a process", "[ids]") {
    std::string previous = adashta::new_message_id();
    int out_of_order = 0;
    for (int i = 0; i < 100000; ++i) {
        std::string next = adashta::new_message_id();
        if (!(previous < next)) ++out_of_order;
        previous = std::move(next);
    }
    CHECK(out_of_order == 0);
}

TEST_CASE("a message id starts with the time it was made", "[ids]") {
    const std::int64_t before = adashta::now_ms();
    const std::string id = adashta::new_message_id();
    const std::int64_t after = adashta::now_ms();
    // The first 10 characters are the milliseconds, 5 bits each, most significant first.
    static constexpr std::string_view kDigits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::int64_t ms = 0;
    for (char c : std::string_view(id).substr(0, 10))
        ms = ms * 32 + static_cast<std::int64_t>(kDigits.find(c));
    CHECK(ms >= before);
    CHECK(ms <= after);
}

TEST_CASE("session ids are valid, distinct and hex after the prefix", "[ids]") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = adashta::new_session_id();
        REQUIRE(adashta::is_valid_session_id(id));
        CHECK(id.size() == 34);
        CHECK(is_lower_hex(std::string_view(id).substr(2)));
        seen.insert(id);
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("node ids are 32 hex characters and distinct", "[ids]") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = adashta::new_node_id();
        CHECK(id.size() == 32);
        CHECK(is_lower_hex(id));
        seen.insert(id);
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("now_ms is a plausible wall clock time", "[ids]") {
    const std::int64_t jan_2024 = 1704067200000;
    const std::int64_t jan_2100 = 4102444800000;
    const std::int64_t now = adashta::now_ms();
    CHECK(now > jan_2024);
    CHECK(now < jan_2100);
}

TEST_CASE("a chosen id scoped to its producer: same producer same id, others differ",
          "[ids]") {
    const std::string a = adashta::scoped_message_id("order-0042", "s-0123456789abcdef0123456789abcdef");
    CHECK(a == adashta::scoped_message_id("order-0042", "s-0123456789abcdef0123456789abcdef"));
    CHECK(a.starts_with("order-0042."));
    CHECK(a.size() == std::string{"order-0042."}.size() + 13);
    CHECK(a != adashta::scoped_message_id("order-0042", "s-0123456789abcdef0123456789abcdee"));
    CHECK(a != adashta::scoped_message_id("order-0043", "s-0123456789abcdef0123456789abcdef"));
    // Never a valid chosen id itself, so no client can pick another's scoped id.
    CHECK_FALSE(adashta::is_valid_message_id(a));
}
