#include "adashta/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "adashta/json.hpp"

namespace adashta::log {
namespace {

// What the environment asked for, read once, and what it got wrong (said once, as the
// first line, since a mistyped variable would otherwise silently log the default way).
struct Settings {
    std::atomic<Level> lowest{Level::info};
    std::atomic<Format> format{Format::text};
    std::string complaint;                 // empty: the variables were fine
    std::atomic<bool> complained{false};
};

// ADASHTA_LOG_LEVEL wins over the older ADASHTA_LOG.
void read_level(Settings& s) {
    for (const char* variable : {"ADASHTA_LOG_LEVEL", "ADASHTA_LOG"}) {
        const char* value = std::getenv(variable);
        if (!value || !*value) continue;
        if (auto level = parse_level(value)) {
            s.lowest = *level;
        } else {
            s.complaint += std::string{variable} + "=\"" + value +
                           "\" is not debug, info, warn or error, so it is ignored. ";
        }
        return;
    }
}

void read_format(Settings& s) {
    const char* value = std::getenv("ADASHTA_LOG_FORMAT");
    if (!value || !*value) return;
    if (auto format = parse_format(value))
        s.format = *format;
    else
        s.complaint += std::string{"ADASHTA_LOG_FORMAT=\""} + value +
                       "\" is not text or json, so it is ignored. ";
}

Settings& settings() {
    static Settings* const s = [] {
        auto* made = new Settings;  // never freed: threads may log while the process exits
        read_format(*made);
        read_level(*made);
        if (!made->complaint.empty()) made->complaint.pop_back();
        return made;
    }();
    return *s;
}

// "2026-11-23T09:30:00.123Z"
std::string timestamp(std::chrono::system_clock::time_point at) {
    using namespace std::chrono;
    const std::time_t secs = system_clock::to_time_t(at);
    const auto ms = duration_cast<milliseconds>(at.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[40];
    const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms));
    return stamp;
}

void emit(Level level, std::string_view who, std::string_view text) {
    const std::string line =
        format_line(settings().format, level, who, text, std::chrono::system_clock::now());
    // One write per line so lines from different threads do not interleave.
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

std::optional<Level> parse_level(std::string_view name) {
    for (Level level : {Level::error, Level::warn, Level::info, Level::debug})
        if (name == level_name(level)) return level;
    return std::nullopt;
}

std::optional<Format> parse_format(std::string_view name) {
    if (name == "text") return Format::text;
    if (name == "json") return Format::json;
    return std::nullopt;
}

std::string_view level_name(Level level) {
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

void set_level(Level lowest) {
    settings().lowest = lowest;
}

void set_format(Format format) {
    settings().format = format;
}

Level level() {
    return settings().lowest;
}

Format format() {
    return settings().format;
}

bool enabled(Level level) {
    return level <= settings().lowest.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view who, std::string_view text) {
    Settings& s = settings();
    if (!s.complaint.empty() && !s.complained.exchange(true)) emit(Level::warn, "log", s.complaint);
    if (enabled(level)) emit(level, who, text);
}

std::string format_line(Format format, Level level, std::string_view who, std::string_view text,
                        std::chrono::system_clock::time_point at) {
    std::string line;
    line.reserve(text.size() + who.size() + 80);
    if (format == Format::text) {
        line += timestamp(at);
        line += ' ';
        line += who;
        line += ' ';
        line += level_name(level);
        line += ": ";
        line += text;
    } else {
        line += R"({"ts":")";
        line += timestamp(at);
        line += R"(","level":")";
        line += level_name(level);
        line += R"(","component":)";
        json::append_quoted(line, who);
        line += R"(,"msg":)";
        json::append_quoted(line, text);
        line += '}';
    }
    line += '\n';
    return line;
}

}  // namespace adashta::log
