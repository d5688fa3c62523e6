// Attack 3 of the security issue, rebuilt: session ids used to come from std::mt19937_64,
// whose state 312 consecutive outputs give away; 156 observed ids (two outputs each) then
// predicted the next client's id exactly. These tests run that attack on the ids the edge
// issues now, after checking that the attack itself works on the old generator.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "adashta/ids.hpp"

namespace {

constexpr std::size_t kState = 312;  // mt19937_64's state, in 64-bit words

// How the old generator wrote an id: "s-" and two outputs, each low byte first, as hex.
std::string old_style_id(std::mt19937_64& gen) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "s-";
    for (int word = 0; word < 2; ++word) {
        std::uint64_t r = gen();
        for (int byte = 0; byte < 8; ++byte) {
            out += kHex[(r >> 4) & 0xF];
            out += kHex[r & 0xF];
            r >>= 8;
        }
    }
    return out;
}

// The two outputs an id of that form carries.
std::vector<std::uint64_t> outputs_of(const std::string& id) {
    std::vector<std::uint64_t> out;
    for (std::size_t word = 0; word < 2; ++word) {
        std::uint64_t r = 0;
        for (std::size_t byte = 0; byte < 8; ++byte) {
            const std::string hex = id.substr(2 + word * 16 + byte * 2, 2);
            r |= static_cast<std::uint64_t>(std::stoul(hex, nullptr, 16)) << (8 * byte);
        }
        out.push_back(r);
    }
    return out;
}

std::uint64_t undo_right(std::uint64_t y, int shift, std::uint64_t mask) {
    std::uint64_t x = y;
    for (int i = 0; i < 64 / shift + 1; ++i) x = y ^ ((x >> shift) & mask);
    return x;
}

std::uint64_t undo_left(std::uint64_t y, int shift, std::uint64_t mask) {
    std::uint64_t x = y;
    for (int i = 0; i < 64 / shift + 1; ++i) x = y ^ ((x << shift) & mask);
    return x;
}

// mt19937_64's output tempering, inverted: output -> state word.
std::uint64_t untemper(std::uint64_t y) {
    y = undo_right(y, 43, ~0ULL);
    y = undo_left(y, 37, 0xFFF7EEE000000000ULL);
    y = undo_left(y, 17, 0x71D67FFFEDA60000ULL);
    y = undo_right(y, 29, 0x5555555555555555ULL);
    return y;
}

// The attacker: from the first 156 ids, rebuilds the generator and predicts every id after
// them. Returns how many of the remaining ids it predicted right.
std::size_t predicted(const std::vector<std::string>& ids) {
    std::vector<std::uint64_t> outputs;
    for (const auto& id : ids)
        for (std::uint64_t o : outputs_of(id)) outputs.push_back(o);
    std::ostringstream state;
    for (std::size_t i = 0; i < kState; ++i) state << untemper(outputs[i]) << ' ';
    state << kState;  // libstdc++: the position, past the last word, so the next call twists
    std::mt19937_64 clone;
    std::istringstream{state.str()} >> clone;
    std::size_t right = 0;
    for (std::size_t i = kState / 2; i < ids.size(); ++i)
        if (old_style_id(clone) == ids[i]) ++right;
    return right;
}

}  // namespace

TEST_CASE("the state-recovery attack predicts ids of a seeded mt19937_64", "[ids][security]") {
    // The attack is real: against the generator session ids used to come from, 156 ids
    // predict all the others.
    std::mt19937_64 gen{std::random_device{}()};
    std::vector<std::string> ids;
    for (int i = 0; i < 1000; ++i) ids.push_back(old_style_id(gen));
    CHECK(predicted(ids) == 1000 - kState / 2);
}

TEST_CASE("a thousand observed session ids do not predict the next one", "[ids][security]") {
    std::vector<std::string> ids;
    std::set<std::string> unique;
    for (int i = 0; i < 1000; ++i) {
        ids.push_back(adashta::new_session_id());
        unique.insert(ids.back());
        REQUIRE(ids.back().size() == 34);
    }
    CHECK(unique.size() == ids.size());
    CHECK(predicted(ids) == 0);
    // And the bits are balanced, as a uniform source's are (within 5 sigma of 64,000).
    std::size_t ones = 0;
    for (const auto& id : ids)
        for (std::uint64_t o : outputs_of(id)) ones += static_cast<std::size_t>(__builtin_popcountll(o));
    CHECK(ones > 64000 - 5 * 179);
    CHECK(ones < 64000 + 5 * 179);
}

TEST_CASE("session and node ids are not drawn from a generator copied into a child process",
          "[ids][security]") {
    // A seeded PRNG lives in the process's memory: after fork(), parent and child draw the
    // same next id. The OS's CSPRNG gives each its own.
    (void)adashta::new_session_id();
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const std::string id = adashta::new_session_id() + adashta::new_node_id();
        [[maybe_unused]] auto n = ::write(pipe_fds[1], id.data(), id.size());
        ::_exit(0);
    }
    const std::string mine = adashta::new_session_id() + adashta::new_node_id();
    std::string theirs(mine.size(), '\0');
    ::close(pipe_fds[1]);
    std::size_t got = 0;
    while (got < theirs.size()) {
        const ssize_t n = ::read(pipe_fds[0], theirs.data() + got, theirs.size() - got);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(got == mine.size());
    CHECK(theirs != mine);
    CHECK(theirs.substr(0, 34) != mine.substr(0, 34));
}
