#include <catch2/catch.hpp>

#include "adashta/ids.hpp"
#include "adashta/node.hpp"
#include "adashta/token.hpp"

// A server application links adashta::node and nothing else, and mints the tokens its pages
// connect with, or checks one a page sent it (docs/security.md).
TEST_CASE("a server application mints and verifies connection tokens with the SDK", "[sdk][token]") {
    auto key = adashta::token::Key::from_secret("the application's secret, 32+ bytes long");
    REQUIRE(key);
    const std::int64_t now_s = adashta::now_ms() / 1000;
    auto jwt = adashta::token::mint(
        {.subject = "alice", .expires_s = now_s + 300, .grants = {.consume = {"user.alice"}}}, *key);
    REQUIRE(jwt);
    auto claims = adashta::token::verify(*jwt, *key, now_s);
    REQUIRE(claims);
    CHECK(claims->subject == "alice");
    CHECK(adashta::token::allows(claims->grants.consume, "user.alice"));
}
