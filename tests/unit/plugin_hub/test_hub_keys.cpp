// plugins/src/hub_keys.cpp: the signed statement, signatures, key files and keyrings.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "adashta/plugins/hub_index.hpp"
#include "adashta/plugins/hub_keys.hpp"
#include "temp_dir.hpp"

using namespace adashta;
using namespace adashta::plugins;
using adashta::test::TempDir;

namespace {

const std::string kSha = std::string(64, 'a');
const std::string kOtherSha = std::string(64, 'b');

Keyring trusting(const SigningKey& key) {
    Keyring ring;
    ring.add(key.public_key(), "test", "memory");
    return ring;
}

}  // namespace

TEST_CASE("the signed statement is domain-separated and names name, version and sha256 unambiguously",
          "[hub_keys]") {
    const std::string s = signed_statement("hello", "1.0.0", kSha);
    CHECK(s.starts_with("adashta-plugin-package-v1"));
    CHECK(s == std::string{"adashta-plugin-package-v1"} + '\0' + "hello" + '\0' + "1.0.0" + '\0' + kSha);
    // Moving a boundary between the parts changes the statement.
    CHECK(signed_statement("hello-1", "0.0", kSha) != signed_statement("hello", "1.0.0", kSha));
    CHECK(signed_statement("a", "1.0.0", kSha) != signed_statement("a", "1.0.0", kOtherSha));
}

TEST_CASE("a signature verifies for its package and for no other name, version or sha256", "[hub_keys]") {
    const SigningKey key = SigningKey::generate();
    const Keyring ring = trusting(key);
    const std::string sig = key.sign("hello", "1.0.0", kSha);
    CHECK(ring.verify("hello", "1.0.0", kSha, key.key_id(), sig));
    for (const auto& [name, version, sha] : {std::tuple{"hello", "1.0.1", kSha}, {"hellp", "1.0.0", kSha},
                                             {"hello", "1.0.0", kOtherSha}}) {
        const Status s = ring.verify(name, version, sha, key.key_id(), sig);
        REQUIRE_FALSE(s);
        CHECK(s.error().code == Errc::signature_refused);
        CHECK(s.error().detail.find("does not match") != std::string::npos);
    }
}

TEST_CASE("an unsigned package and one by an unknown key are refused, each saying what to do", "[hub_keys]") {
    const SigningKey key = SigningKey::generate();
    const SigningKey stranger = SigningKey::generate();
    const Keyring ring = trusting(key);

    const Status unsigned_one = ring.verify("hello", "1.0.0", kSha, "", "");
    REQUIRE_FALSE(unsigned_one);
    CHECK(unsigned_one.error().code == Errc::signature_refused);
    CHECK(unsigned_one.error().detail.find("unsigned") != std::string::npos);

    const Status unknown = ring.verify("hello", "1.0.0", kSha, stranger.key_id(), stranger.sign("hello", "1.0.0", kSha));
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().detail.find("not in a trusted keyring") != std::string::npos);
    CHECK(unknown.error().detail.find("--trust") != std::string::npos);

    // A signature by the stranger, claimed to be by the trusted key, does not verify either.
    const Status forged = ring.verify("hello", "1.0.0", kSha, key.key_id(), stranger.sign("hello", "1.0.0", kSha));
    REQUIRE_FALSE(forged);
    CHECK(forged.error().detail.find("does not match") != std::string::npos);
}

TEST_CASE("a key saved and loaded signs the same; its file is 0600 and a keyring reads its .pub", "[hub_keys]") {
    TempDir dir;
    const auto file = dir.path / "publisher.key";
    const SigningKey key = SigningKey::generate();
    REQUIRE(key.save(file, "me"));
    struct stat st{};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK_FALSE(key.save(file, "me"));  // never overwritten

    auto loaded = SigningKey::load(file);
    REQUIRE(loaded);
    CHECK(loaded->key_id() == key.key_id());
    CHECK(loaded->sign("hello", "1.0.0", kSha) == key.sign("hello", "1.0.0", kSha));

    auto ring = Keyring::read({file.string() + ".pub", dir.path / "missing"});
    REQUIRE(ring);
    REQUIRE(ring->entries().size() == 1);
    CHECK(ring->entries()[0].id == key.key_id());
    CHECK(ring->entries()[0].label == "me");

    ::chmod(file.c_str(), 0644);
    auto loose = SigningKey::load(file);
    REQUIRE_FALSE(loose);
    CHECK(loose.error().detail.find("chmod 600") != std::string::npos);
}

TEST_CASE("a malformed keyring line is refused naming the file and line", "[hub_keys]") {
    TempDir dir;
    std::ofstream(dir.path / "keys") << "# comment\n\ned25519 not-base64!\n";
    auto ring = Keyring::read({dir.path / "keys"});
    REQUIRE_FALSE(ring);
    CHECK(ring.error().code == Errc::bad_key);
    CHECK(ring.error().detail.find("keys:3") != std::string::npos);
}

TEST_CASE("an index entry whose file reaches outside the hub is refused", "[hub_index]") {
    const std::string text = R"({"format":1,"packages":{"hello":{"versions":{"1.0.0":{
        "file":"../../etc/passwd","sha256":")" + kSha + R"(","size":10,"runtime":"lua"}}}}})";
    auto index = HubIndex::parse(text, "index.json");
    REQUIRE_FALSE(index);
    CHECK(index.error().code == Errc::hub_unavailable);
    CHECK(index.error().detail.find("hello-1.0.0.tgz") != std::string::npos);
}

TEST_CASE("an index written and read again is the same; newest prefers a release", "[hub_index]") {
    HubIndex index;
    for (const char* v : {"1.0.0", "1.2.0", "1.10.0-rc.1", "1.9.0"})
        index.add(HubVersion{"hello", v, std::string{"hello-"} + v + ".tgz", kSha, 100, "lua", "greets", "id", "sig"});
    auto again = HubIndex::parse(index.to_json(), "index.json");
    REQUIRE(again);
    CHECK(again->to_json() == index.to_json());
    REQUIRE(again->newest("hello"));
    CHECK(again->newest("hello")->version == "1.9.0");
    CHECK(again->find("hello", "1.2.0")->size == 100);
    CHECK(again->newest("nope") == nullptr);
}
