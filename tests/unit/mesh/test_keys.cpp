#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "adashta/mesh/keys.hpp"
#include "temp_dir.hpp"

using namespace adashta::mesh;
using adashta::Errc;
using adashta::wire::Role;

TEST_CASE("a generated key pair saves to a certificate pair and loads back", "[keys]") {
    adashta::test::TempDir dir;
    const std::string file = (dir.path / "member.key").string();
    const KeyPair pair = KeyPair::generate();
    REQUIRE(is_z85_key(pair.public_key));
    REQUIRE(is_z85_key(pair.secret_key));
    REQUIRE(pair.save(file, "member"));
    struct stat st {};
    REQUIRE(::stat((file + "_secret").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);  // the secret half is the member's alone

    auto loaded = KeyPair::load(file + "_secret");
    REQUIRE(loaded);
    CHECK(loaded->public_key == pair.public_key);
    CHECK(loaded->secret_key == pair.secret_key);
    // Given the public half, load reads the secret one beside it.
    CHECK(KeyPair::load(file)->secret_key == pair.secret_key);
    CHECK(*read_public_key(file) == pair.public_key);
    CHECK(KeyPair::from_secret(pair.secret_key)->public_key == pair.public_key);
}

TEST_CASE("a key file that is missing or only public is refused with what to do", "[keys]") {
    adashta::test::TempDir dir;
    auto missing = KeyPair::load((dir.path / "nope").string());
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::bad_key);
    CHECK_THAT(missing.error().detail, Catch::Contains("adashta keys new"));
    CHECK_FALSE(KeyPair::from_secret("too short"));
}

TEST_CASE("the allow-list gives each key its roles and, where listed, its endpoint", "[keys]") {
    const KeyPair edge = KeyPair::generate();
    const KeyPair node = KeyPair::generate();
    // A Z85 key may hold '#': only a '#' after white space starts a comment.
    const std::string hashed = "abcdefghij#klmnopqrstuvwxyz0123456789ABC";
    REQUIRE(is_z85_key(hashed));
    const std::string text = "# members\n\n" + edge.public_key + "  edge  tcp://127.0.0.1:7700  # e1\n" +
                             node.public_key + " node,tool\n" + hashed + " tool # has a hash\n";
    auto list = AllowList::parse(text, "allow");
    REQUIRE(list);
    CHECK(list->size() == 3);
    const AllowedKey* e = list->find(edge.public_key);
    REQUIRE(e);
    CHECK(e->may(Role::Edge));
    CHECK_FALSE(e->may(Role::Node));
    CHECK(e->name == "e1");
    CHECK(list->find_by_endpoint("tcp://127.0.0.1:7700") == e);
    const AllowedKey* n = list->find(node.public_key);
    CHECK(n->may(Role::Node));
    CHECK(n->may(Role::Tool));
    CHECK_FALSE(n->may(Role::Edge));
    CHECK(n->roles() == "node,tool");
    REQUIRE(list->find(hashed));
    CHECK(list->find(hashed)->name == "has a hash");
    CHECK(list->find(KeyPair::generate().public_key) == nullptr);
}

TEST_CASE("a malformed allow-list line is refused naming the file, the line and the rule", "[keys]") {
    const std::string key = KeyPair::generate().public_key;
    const std::pair<std::string, std::string> cases[] = {
        {"not-a-key node\n", "allow:1: \"not-a-key\" is not a public key"},
        {"\n" + key + " admin\n", "allow:2: \"admin\" is not a role"},
        {key + "\n", "allow:1: expected KEY ROLES"},
        {key + " node udp://x\n", "is not an endpoint"},
        {key + " node\n" + key + " edge\n", "allow:2: this key is listed twice"},
        {"# nobody\n", "lists no key"},
    };
    for (const auto& [text, message] : cases) {
        auto list = AllowList::parse(text, "allow");
        REQUIRE_FALSE(list);
        CHECK(list.error().code == Errc::bad_key);
        CHECK_THAT(list.error().detail, Catch::Contains(message));
    }
}

TEST_CASE("a seed may carry its member's key after a bar", "[keys]") {
    const std::string key = KeyPair::generate().public_key;
    auto plain = split_seed("tcp://127.0.0.1:7700");
    CHECK(plain->first == "tcp://127.0.0.1:7700");
    CHECK(plain->second.empty());
    auto keyed = split_seed("tcp://127.0.0.1:7700|" + key);
    CHECK(keyed->first == "tcp://127.0.0.1:7700");
    CHECK(keyed->second == key);
    CHECK_FALSE(split_seed("tcp://127.0.0.1:7700|short"));
}
