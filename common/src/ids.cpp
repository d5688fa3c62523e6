#include "adashta/ids.hpp"

#include <array>
#include <chrono>
#include <mutex>
#include <random>

namespace adashta {
namespace {

// One generator per process, seeded from the OS; ids need uniqueness, not secrecy,
// except session ids, which also take 128 bits so they cannot be guessed.
std::mt19937_64& rng() {
    static thread_local std::mt19937_64 gen{[] {
        std::random_device dev;
        std::seed_seq seq{dev(), dev(), dev(), dev(), dev(), dev(), dev(), dev()};
        return std::mt19937_64{seq};
    }()};
    return gen;
}

std::string random_hex(std::size_t bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    for (std::size_t i = 0; i < bytes; i += 8) {
        std::uint64_t r = rng()();
        for (std::size_t j = 0; j < 8 && i + j < bytes; ++j) {
            out += kHex[(r >> 4) & 0xF];
            out += kHex[r & 0xF];
            r >>= 8;
        }
    }
    return out;
}

}  // namespace

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
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
    return "s-" + random_hex(16);
}

std::string new_node_id() {
    return random_hex(16);
}

}  // namespace adashta
