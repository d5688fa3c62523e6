#include "adashta/mesh/ring.hpp"

#include <algorithm>
#include <cstring>

namespace adashta::mesh {
namespace {

constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ULL;  // 2^64 / golden ratio

// The splitmix64 finalizer: every input bit flips about half of the output bits.
constexpr std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

}  // namespace

std::uint64_t ring_hash(std::string_view bytes) {
    // Eight bytes at a time, each word mixed into the state; the tail is padded with zeros
    // and the length is folded in so "a" and "a\0" differ.
    std::uint64_t h = mix(bytes.size() * kMul + 0x2545F4914F6CDD1DULL);
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t word;
        std::memcpy(&word, bytes.data() + i, 8);
        h = mix(h ^ (word * kMul));
    }
    if (i < bytes.size()) {
        std::uint64_t word = 0;
        std::memcpy(&word, bytes.data() + i, bytes.size() - i);
        h = mix(h ^ (word * kMul) ^ 0xFF);
    }
    return h;
}

Ring::Ring(std::vector<std::string> members, int vnodes) : members_(std::move(members)) {
    std::sort(members_.begin(), members_.end());
    members_.erase(std::unique(members_.begin(), members_.end()), members_.end());
    points_.reserve(members_.size() * static_cast<std::size_t>(vnodes));
    for (std::uint32_t m = 0; m < members_.size(); ++m) {
        const std::uint64_t base = ring_hash(members_[m]);
        for (int v = 0; v < vnodes; ++v)
            points_.push_back({mix(base ^ (static_cast<std::uint64_t>(v + 1) * kMul)), m});
    }
    // Ties (astronomically rare) are broken by member name so every process agrees.
    std::sort(points_.begin(), points_.end(), [this](const Point& a, const Point& b) {
        if (a.hash != b.hash) return a.hash < b.hash;
        return members_[a.member] < members_[b.member];
    });
}

std::size_t Ring::first_at_or_after(std::uint64_t hash) const {
    auto it = std::lower_bound(points_.begin(), points_.end(), hash,
                               [](const Point& p, std::uint64_t h) { return p.hash < h; });
    return it == points_.end() ? 0 : static_cast<std::size_t>(it - points_.begin());
}

std::string_view Ring::owner(std::string_view key) const {
    if (points_.empty()) return {};
    return members_[points_[first_at_or_after(ring_hash(key))].member];
}

std::vector<std::string_view> Ring::owners(std::string_view key, std::size_t count) const {
    std::vector<std::string_view> out;
    if (points_.empty()) return out;
    count = std::min(count, members_.size());
    std::vector<bool> taken(members_.size(), false);
    std::size_t i = first_at_or_after(ring_hash(key));
    for (std::size_t walked = 0; out.size() < count && walked < points_.size(); ++walked) {
        const std::uint32_t m = points_[i].member;
        if (!taken[m]) {
            taken[m] = true;
            out.emplace_back(members_[m]);
        }
        i = (i + 1) % points_.size();
    }
    return out;
}

}  // namespace adashta::mesh
