// A consistent-hash ring with virtual nodes: maps a key (a session id) to one member (a
// node id). Every process that builds a ring from the same members agrees on every owner,
// so edges route alike without talking to each other. When a member leaves, only its keys
// move; when one joins, about 1/(N+1) of the keys move to it.
//
//   Ring ring{{"node-a", "node-b", "node-c"}};
//   std::string_view owner = ring.owner("s-3e8d0c1a9b7f4c2d");   // sticky while members stay
//   auto next = ring.owners("s-3e8d0c1a9b7f4c2d", 2);            // owner, then its successor
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace adashta::mesh {

// 64-bit hash used for ring points and keys; stable across processes and releases.
std::uint64_t ring_hash(std::string_view bytes);

class Ring {
public:
    // Points per member: enough that 5 members each get their fair share within a few
    // percent (tests/unit/mesh/test_ring.cpp measures it).
    static constexpr int kDefaultVnodes = 1024;

    Ring() = default;
    // Members may come in any order and may repeat; the ring is the same for the same set.
    explicit Ring(std::vector<std::string> members, int vnodes = kDefaultVnodes);

    bool empty() const { return members_.empty(); }
    const std::vector<std::string>& members() const { return members_; }  // sorted, unique

    // The member that owns key; empty view when the ring is empty.
    std::string_view owner(std::string_view key) const;
    // Up to count distinct members, walking clockwise from key: the owner first, then the
    // member that would own key if the owner left, and so on.
    std::vector<std::string_view> owners(std::string_view key, std::size_t count) const;

private:
    struct Point {
        std::uint64_t hash;    // position on the ring
        std::uint32_t member;  // index into members_
    };
    std::size_t first_at_or_after(std::uint64_t hash) const;

    std::vector<std::string> members_;  // sorted, unique
    std::vector<Point> points_;         // sorted by hash
};

}  // namespace adashta::mesh
