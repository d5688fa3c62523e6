// Command-line flags and small shared pieces for the tools in this folder: "--name value"
// pairs checked against the flags a tool knows, clocks, and the exit rules of the bench
// contract (bad flags: usage on stderr, exit 2).
//
//   Flags flags{argc, argv, "usage: tool --messages N", {"--messages", "--size"}};
//   const long n = flags.number("--messages", 1000, 1, 100'000'000);
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace adashta::bench {

class Flags {
public:
    // Reads every "--flag value" pair; a flag not in known, or one without a value, ends the
    // process with the usage line and exit code 2.
    Flags(int argc, char** argv, std::string usage, std::initializer_list<std::string_view> known)
        : usage_(std::move(usage)) {
        const std::set<std::string_view> allowed{known};
        for (int i = 1; i < argc; ++i) {
            const std::string_view flag{argv[i]};
            if (flag == "--help" || flag == "-h") {
                std::cout << usage_ << "\n";
                std::exit(0);
            }
            if (!allowed.contains(flag)) fail("unknown flag " + std::string{flag});
            if (i + 1 >= argc) fail(std::string{flag} + " needs a value");
            values_[std::string{flag}] = argv[++i];
        }
    }

    bool has(const std::string& flag) const { return values_.contains(flag); }

    std::string text(const std::string& flag, std::string fallback) const {
        auto it = values_.find(flag);
        return it == values_.end() ? fallback : it->second;
    }

    // An integer in [low, high]; anything else ends the process with exit code 2.
    long number(const std::string& flag, long fallback, long low, long high) const {
        auto it = values_.find(flag);
        if (it == values_.end()) return fallback;
        char* end = nullptr;
        const long value = std::strtol(it->second.c_str(), &end, 10);
        if (it->second.empty() || *end != '\0' || value < low || value > high)
            fail(flag + " must be a whole number from " + std::to_string(low) + " to " +
                 std::to_string(high) + ", not \"" + it->second + "\"");
        return value;
    }

    // One of choices; anything else ends the process with exit code 2.
    std::string choice(const std::string& flag,
                       std::initializer_list<std::string_view> choices) const {
        const std::string value = text(flag, std::string{*choices.begin()});
        for (auto c : choices)
            if (c == value) return value;
        fail(flag + " cannot be \"" + value + "\"");
    }

    [[noreturn]] void fail(const std::string& why) const {
        std::cerr << why << "\n" << usage_ << "\n";
        std::exit(2);
    }

private:
    std::string usage_;
    std::map<std::string, std::string> values_;
};

// Microseconds on the monotonic clock: for intervals measured inside one process.
inline std::int64_t steady_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Milliseconds since the epoch: for times reported to the runner.
inline std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace adashta::bench
