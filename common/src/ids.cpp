#include "adashta/ids.hpp"

#include <array>
#include <cassert>
#include <chrono>
#include <mutex>
#include <random>

#include <sodium.h>

namespace adashta {
namespace {

// Message ids need uniqueness, not secrecy: a generator seeded from the OS, per thread.
// Session and node ids are secrets (a session id plus its resume secret is a session; a
// node id is what a mesh member answers to), so they come from the OS's CSPRNG through
// libsodium, never from a seeded PRNG whose state its outputs give away.
std::mt19937_64& rng() {
    static thread_local std::mt19937_64 gen{[] {
        std::random_device dev;
        std::seed_seq seq{dev(), dev(), dev(), dev(), dev(), dev(), dev(), dev()};
        return std::mt19937_64{seq};
    }()};
    return gen;
}

// bytes from the CSPRNG, as hex.
std::string secure_random_hex(std::size_t bytes) {
    [[maybe_unused]] static const int ready = sodium_init();  // idempotent, thread-safe
    assert(ready >= 0 && "libsodium could not start (no entropy source)");
    std::array<unsigned char, 64> raw{};
    assert(bytes <= raw.size());
    randombytes_buf(raw.data(), bytes);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    for (std::size_t i = 0; i < bytes; ++i) {
        out += kHex[raw[i] >> 4];
        out += kHex[raw[i] & 0xF];
    }
    sodium_memzero(raw.data(), raw.size());
    return out;
}

}  // namespace

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string scoped_message_id(std::string_view id, std::string_view producer) {
    static constexpr char kBase32[] = "0123456789abcdefghjkmnpqrstvwxyz";
    // FNV-1a, 64 bits: producers are session ids the edge made, not chosen by clients, so
    // the tag needs spread, not resistance to a chosen collision.
    std::uint64_t h = 14695981039346656037ULL;
    for (const char c : producer) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    std::string out;
    out.reserve(id.size() + 14);
    out.append(id);
    out.push_back('.');
    for (int i = 0; i < 13; ++i) {
        out.push_back(kBase32[h & 31]);
        h >>= 5;
    }
    return out;
}

std::string new_message_id() {
    static constexpr char kBase32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    // Monotonic within a process: same millisecond -> previous random part + 1.
    static std::mutex mutex;
    static std::int64_t last_ms = 0;
    static std::uint64_t hi = 0;  // top 16 of the 80 random bits
    static std::uint64_t lo = 0;  // low 64 of the 80 random bits
    std::int64_t ms = now_ms();
    {
        std::lock_guard lock{mutex};
        if (ms <= last_ms) {
            ms = last_ms;
            if (++lo == 0) hi = (hi + 1) & 0xFFFF;
        } else {
            last_ms = ms;
            hi = rng()() & 0x7FFF;  // leave headroom so increments do not wrap
            lo = rng()();
        }
        std::array<char, 26> out{};
        std::uint64_t t = static_cast<std::uint64_t>(ms);
        for (int i = 9; i >= 0; --i) {
            out[static_cast<std::size_t>(i)] = kBase32[t & 31];
            t >>= 5;
        }
        // 80 bits as 16 base32 digits: hi (16 bits) then lo (64 bits).
        std::uint64_t l = lo;
        std::uint64_t h = hi;
        for (int i = 25; i >= 10; --i) {
            out[static_cast<std::size_t>(i)] = kBase32[l & 31];
            l = (l >> 5) | ((h & 31) << 59);
            h >>= 5;
        }
        return std::string(out.data(), out.size());
    }
}

std::string new_session_id() {
    return "s-" + secure_random_hex(16);
}

std::string new_node_id() {
    return secure_random_hex(16);
}

}  // namespace adashta
