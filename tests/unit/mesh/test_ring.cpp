#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "adashta/mesh/ring.hpp"

using adashta::mesh::Ring;

namespace {

std::vector<std::string> keys(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back("s-session-" + std::to_string(i));
    return out;
}

std::vector<std::string> nodes(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back("node-" + std::to_string(i));
    return out;
}

std::map<std::string, std::string> assign(const Ring& ring, const std::vector<std::string>& ks) {
    std::map<std::string, std::string> out;
    for (const auto& k : ks) out[k] = std::string{ring.owner(k)};
    return out;
}

}  // namespace

TEST_CASE("every node holds its fair share of 10,000 keys within 10%", "[ring]") {
    const auto ks = keys(10000);
    for (int n : {2, 3, 5, 8}) {
        const Ring ring{nodes(n)};
        std::map<std::string, int> load;
        for (const auto& [key, owner] : assign(ring, ks)) ++load[owner];
        const double fair = 10000.0 / n;
        REQUIRE(load.size() == static_cast<std::size_t>(n));
        for (const auto& [node, count] : load) {
            INFO(n << " nodes: " << node << " holds " << count << ", fair share " << fair);
            CHECK(count >= fair * 0.9);
            CHECK(count <= fair * 1.1);
        }
    }
}

TEST_CASE("when a node leaves only its keys move", "[ring]") {
    const auto ks = keys(10000);
    auto members = nodes(5);
    const auto before = assign(Ring{members}, ks);
    members.erase(members.begin() + 2);  // node-2 leaves
    const auto after = assign(Ring{members}, ks);
    int moved = 0;
    for (const auto& k : ks) {
        if (before.at(k) == "node-2") {
            CHECK(after.at(k) != "node-2");
            ++moved;
        } else {
            CHECK(after.at(k) == before.at(k));
        }
    }
    CHECK(moved > 0);
}

TEST_CASE("when a node joins about 1/(N+1) of the keys move, all to it", "[ring]") {
    const auto ks = keys(10000);
    auto members = nodes(5);
    const auto before = assign(Ring{members}, ks);
    members.push_back("node-new");
    const auto after = assign(Ring{members}, ks);
    int moved = 0;
    for (const auto& k : ks) {
        if (after.at(k) != before.at(k)) {
            CHECK(after.at(k) == "node-new");
            ++moved;
        }
    }
    const double expected = 10000.0 / 6;
    INFO("moved " << moved << ", expected about " << expected);
    CHECK(moved >= expected * 0.85);
    CHECK(moved <= expected * 1.15);
}

TEST_CASE("rings built from the same members in any order agree", "[ring]") {
    const Ring a{{"x", "y", "z", "y"}};
    const Ring b{{"z", "x", "y"}};
    CHECK(a.members() == b.members());
    for (const auto& k : keys(1000)) CHECK(a.owner(k) == b.owner(k));
}

TEST_CASE("owners walks to distinct successors, the owner first", "[ring]") {
    const Ring ring{nodes(4)};
    for (const auto& k : keys(200)) {
        const auto list = ring.owners(k, 10);
        REQUIRE(list.size() == 4);
        CHECK(list[0] == ring.owner(k));
        // The second owner is who takes the key when the first leaves.
        std::vector<std::string> rest;
        for (const auto& m : ring.members())
            if (m != list[0]) rest.push_back(m);
        CHECK(Ring{rest}.owner(k) == list[1]);
    }
}

TEST_CASE("an empty ring owns nothing", "[ring]") {
    const Ring ring;
    CHECK(ring.empty());
    CHECK(ring.owner("s-anything").empty());
    CHECK(ring.owners("s-anything", 3).empty());
}

// The values docs/mesh.md gives SDK authors: a change here breaks every other ring.
TEST_CASE("ring_hash and owners match the test vectors of docs/mesh.md", "[ring]") {
    using adashta::mesh::ring_hash;
    CHECK(ring_hash("") == 0x952f14f1e8ddc491ULL);
    CHECK(ring_hash("a") == 0x1eeb38211206682eULL);
    CHECK(ring_hash(std::string_view{"a\0", 2}) == 0x03e8e86afd382d71ULL);
    CHECK(ring_hash("0123456789abcdef0123456789abcdef") == 0xd8aa555630846c3cULL);
    CHECK(ring_hash("s-3e8d0c1a9b7f4c2d8e6a5b4c3d2e1f0a") == 0xfc747fb3acbc0e06ULL);
    const Ring ring{{"00000000000000000000000000000001", "0123456789abcdef0123456789abcdef",
                     "fedcba9876543210fedcba9876543210"}};
    CHECK(ring.owner("s-1") == "0123456789abcdef0123456789abcdef");
    CHECK(ring.owner("s-2") == "fedcba9876543210fedcba9876543210");
    CHECK(ring.owner("s-6") == "00000000000000000000000000000001");
}
