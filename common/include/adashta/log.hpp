// One line a record to stderr, as text or as JSON (one object per line, for log collectors):
//
//   2026-11-23T09:30:00.123Z edge info: listening on ...
//   {"ts":"2026-11-23T09:30:00.123Z","level":"info","component":"edge","msg":"listening on ..."}
//
// The format comes from ADASHTA_LOG_FORMAT (text, json; default text) and the lowest level
// shown from ADASHTA_LOG_LEVEL (debug, info, warn, error; default info; ADASHTA_LOG is its
// older name), read when the first line is written, so every program and the SDK's nodes
// follow them. A program with flags for them (adashta edge --log-format/--log-level) calls
// set_format/set_level before it starts its threads.
//
//   log::info("edge", "ready");
//   if (auto level = log::parse_level(flag)) log::set_level(*level);
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace adashta::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };
enum class Format { text, json };

// "debug", "info", "warn" or "error"; nullopt for anything else.
std::optional<Level> parse_level(std::string_view name);
// "text" or "json"; nullopt for anything else.
std::optional<Format> parse_format(std::string_view name);
std::string_view level_name(Level level);

// Any thread; lines already written keep their format.
void set_level(Level lowest);
void set_format(Format format);
Level level();
Format format();

// True when lines of this level are written (cheap: test it before building a debug text).
bool enabled(Level level);
// Writes one line when level is enabled; lines from different threads never interleave.
void write(Level level, std::string_view who, std::string_view text);

// The line write() would print at `at`, newline included. Text is written as is in the text
// format; in JSON, who and text are escaped (invalid UTF-8 becomes U+FFFD).
std::string format_line(Format format, Level level, std::string_view who, std::string_view text,
                        std::chrono::system_clock::time_point at);

inline void error(std::string_view who, std::string_view text) {
    write(Level::error, who, text);
}
inline void warn(std::string_view who, std::string_view text) {
    write(Level::warn, who, text);
}
inline void info(std::string_view who, std::string_view text) {
    write(Level::info, who, text);
}
inline void debug(std::string_view who, std::string_view text) {
    if (enabled(Level::debug)) write(Level::debug, who, text);
}

}  // namespace adashta::log
