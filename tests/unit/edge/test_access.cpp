#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "access.hpp"
#include "adashta/ids.hpp"
#include "edge.hpp"
#include "protocol.hpp"
#include "resume_secrets.hpp"
#include "temp_dir.hpp"

using adashta::Errc;
using namespace adashta::edge;
namespace token = adashta::token;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-edge";
constexpr std::int64_t kNow = 1'800'000'000;

std::string mint(std::string sub, token::Grants grants = {}, std::int64_t ttl = 600) {
    return *token::mint({.subject = std::move(sub), .expires_s = kNow + ttl, .grants = std::move(grants)},
                        *token::Key::from_secret(kSecret));
}

Access make(EdgeOptions o) {
    auto access = Access::make(o);
    REQUIRE(access);
    return std::move(*access);
}

}  // namespace

TEST_CASE("without a token key the edge runs with authentication off: everything allowed", "[access]") {
    const Access access = make({});
    CHECK(access.mode() == AuthMode::off);
    auto admitted = access.admit("", kNow);
    REQUIRE(admitted);
    CHECK(admitted->may(Action::produce, "anything"));
    CHECK(admitted->user.empty());
    CHECK(admitted->expires_s == 0);
}

TEST_CASE("with a key the default is required: no token, no connection", "[access]") {
    const Access access = make({.token_secret = kSecret});
    CHECK(access.mode() == AuthMode::required);
    auto refused = access.admit("", kNow);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::token_required);
    auto admitted = access.admit(mint("alice", {.consume = {"chat.*"}}), kNow);
    REQUIRE(admitted);
    CHECK(admitted->user == "alice");
    CHECK(admitted->expires_s == kNow + 600);
    CHECK(admitted->may(Action::consume, "chat.lobby"));
    CHECK_FALSE(admitted->may(Action::produce, "chat.lobby"));
    CHECK_FALSE(admitted->may(Action::consume, "admin"));
    CHECK(access.admit(mint("alice", {}, -1), kNow).error().code == Errc::token_expired);
    CHECK(access.admit("garbage", kNow).error().code == Errc::token_invalid);
}

TEST_CASE("optional mode gives anonymous sessions the config's grants only", "[access]") {
    adashta::test::TempDir dir;
    const auto config = (dir.path / "adashta.json").string();
    std::ofstream{config} << R"({"auth": {"mode": "optional", "anonymous": {"consume": ["news"]}},
                              "allowedOrigins": ["https://app.example"], "queues": {}})";
    const Access access = make({.config = config, .token_secret = kSecret});
    CHECK(access.mode() == AuthMode::optional);
    auto anonymous = access.admit("", kNow);
    REQUIRE(anonymous);
    CHECK(anonymous->may(Action::consume, "news"));
    CHECK_FALSE(anonymous->may(Action::produce, "news"));
    CHECK(access.admit(mint("bob", {.produce = {"news"}}), kNow)->may(Action::produce, "news"));
    CHECK(access.origin_allowed("https://app.example", "edge.example:8080"));
    CHECK_FALSE(access.origin_allowed("https://evil.example", "edge.example:8080"));
}

TEST_CASE("a mode that needs a key without one, or an unknown key in auth, is refused", "[access]") {
    auto needs_key = Access::make({.auth = "required"});
    REQUIRE_FALSE(needs_key);
    CHECK_THAT(needs_key.error().detail, Catch::Contains("--token-secret"));
    CHECK_FALSE(Access::make({.auth = "sometimes", .token_secret = kSecret}));
    adashta::test::TempDir dir;
    const auto config = (dir.path / "adashta.json").string();
    std::ofstream{config} << R"({"auth": {"mode": "off", "anonymus": {}}})";
    auto typo = Access::make({.config = config});
    REQUIRE_FALSE(typo);
    CHECK_THAT(typo.error().detail, Catch::Contains("auth: unknown key"));
}

TEST_CASE("a refresh must be for the same user", "[access]") {
    const Access access = make({.token_secret = kSecret});
    auto first = access.admit(mint("alice"), kNow);
    auto same = access.refresh(mint("alice", {.fetch = {"*"}}, 1200), *first, kNow);
    REQUIRE(same);
    CHECK(same->expires_s == kNow + 1200);
    CHECK(same->may(Action::fetch, "x"));
    auto other = access.refresh(mint("mallory"), *first, kNow);
    REQUIRE_FALSE(other);
    CHECK(other.error().code == Errc::token_invalid);
}

TEST_CASE("by default only the edge's own origin may open a WebSocket", "[access]") {
    const Access access = make({});
    CHECK(access.origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080"));
    CHECK(access.origin_allowed("https://edge.example", "edge.example"));
    CHECK_FALSE(access.origin_allowed("http://evil.example", "127.0.0.1:8080"));
    CHECK(access.origin_allowed("", "127.0.0.1:8080"));  // not a browser
    const Access any = make({.allowed_origins = {"*"}});
    CHECK(any.origin_allowed("http://evil.example", "127.0.0.1:8080"));
}

TEST_CASE("a resume secret belongs to one session and one user", "[resume]") {
    adashta::test::TempDir dir;
    const auto path = (dir.path / "session.key").string();
    auto secrets = ResumeSecrets::open(path);
    REQUIRE(secrets);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const std::string session = adashta::new_session_id();
    const std::string secret = (*secrets)->issue(session, "alice");
    CHECK(secret.size() == 64);
    CHECK((*secrets)->check(session, "alice", secret));
    CHECK_FALSE((*secrets)->check(session, "mallory", secret));
    CHECK_FALSE((*secrets)->check(adashta::new_session_id(), "alice", secret));
    CHECK_FALSE((*secrets)->check(session, "alice", ""));
    // One hex digit changed (to another digit: appending "0" passed when it already was one).
    std::string altered = secret;
    altered.back() = altered.back() == '0' ? '1' : '0';
    CHECK_FALSE((*secrets)->check(session, "alice", altered));
    // Fields are length-prefixed: moving a character from the id to the user changes it.
    CHECK((*secrets)->issue("s-ab", "c") != (*secrets)->issue("s-a", "bc"));
    // The key survives a restart: the same file gives the same secrets.
    auto again = ResumeSecrets::open(path);
    REQUIRE(again);
    CHECK((*again)->check(session, "alice", secret));
}

TEST_CASE("a session key file that is not one is refused with how to recover", "[resume]") {
    adashta::test::TempDir dir;
    const auto path = (dir.path / "session.key").string();
    std::ofstream{path} << "not a key\n";
    auto secrets = ResumeSecrets::open(path);
    REQUIRE_FALSE(secrets);
    CHECK_THAT(secrets.error().detail, Catch::Contains("delete it"));
}

TEST_CASE("hello reads token and secret; refresh needs a token", "[protocol]") {
    auto hello = parse_client_frame(
        R"({"type":"hello","session":"s-3e8d0c1a9b7f4c2d8e6a5b4c3d2e1f0a","secret":"ab12","token":"x.y.z"})");
    REQUIRE(std::holds_alternative<ClientFrame>(hello));
    CHECK(std::get<ClientFrame>(hello).secret == "ab12");
    CHECK(std::get<ClientFrame>(hello).token == "x.y.z");
    auto refresh = parse_client_frame(R"({"type":"refresh","ref":3,"token":"x.y.z"})");
    REQUIRE(std::holds_alternative<ClientFrame>(refresh));
    CHECK(std::get<ClientFrame>(refresh).type == FrameType::refresh);
    auto empty = parse_client_frame(R"({"type":"refresh","ref":3})");
    REQUIRE(std::holds_alternative<FrameError>(empty));
    auto bad = parse_client_frame(R"({"type":"hello","token":7})");
    REQUIRE(std::holds_alternative<FrameError>(bad));
    CHECK(std::get<FrameError>(bad).error.code == Errc::token_invalid);
    std::string welcome;
    encode_welcome(welcome, "s-1234567890", false, 1024, "cafe", "alice", 42);
    CHECK_THAT(welcome, Catch::Contains(R"("secret":"cafe","user":"alice","expires":42)"));
}
