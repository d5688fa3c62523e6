#include "adashta/log.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace adashta::log {
namespace {

Level level_from_env() {
    const char* v = std::getenv("ADASHTA_LOG");
    if (!v) return Level::info;
    const std::string_view s{v};
    if (s == "error") return Level::error;
    if (s == "warn") return Level::warn;
    if (s == "debug") return Level::debug;
    return Level::info;
}

constexpr std::string_view name(Level level) {
    switch (level) {
        case Level::error:
            return "error";
        case Level::warn:
            return "warn";
        case Level::info:
            return "info";
        case Level::debug:
            return "debug";
    }
    return "?";
}

}  // namespace

bool enabled(Level level) {
    static const Level max = level_from_env();
    return level <= max;
}

void write(Level level, std::string_view who, std::string_view text) {
    if (!enabled(level)) return;
    using namespace std::chrono;
    const auto now = system_clock::now();
    const std::time_t secs = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    // One fprintf per line so lines from different threads do not interleave.
    std::fprintf(stderr, "%s.%03dZ %.*s %.*s: %.*s\n", stamp, static_cast<int>(ms),
                 static_cast<int>(who.size()), who.data(), static_cast<int>(name(level).size()),
                 name(level).data(), static_cast<int>(text.size()), text.data());
}

}  // namespace adashta::log
