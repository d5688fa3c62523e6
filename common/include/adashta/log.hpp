// One-line logs to stderr: "2026-11-23T09:30:00.123Z edge info: listening on ...".
// The level comes from ADASHTA_LOG (error, warn, info, debug; default info).
#pragma once

#include <string_view>

namespace adashta::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

bool enabled(Level level);
void write(Level level, std::string_view who, std::string_view text);

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
