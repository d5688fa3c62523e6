// The rules for names that cross the wire: queue names and session (client) ids.
#pragma once

#include <string_view>

namespace adashta {

inline constexpr std::size_t kMaxQueueName = 128;

// 1 to 128 characters from A-Z a-z 0-9 . _ : / -
constexpr bool is_valid_queue_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxQueueName) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '/' ||
                        c == '-';
        if (!ok) return false;
    }
    return true;
}

// A message id a client may choose: 8 to 64 characters from A-Z a-z 0-9 _ -
constexpr bool is_valid_message_id(std::string_view id) {
    if (id.size() < 8 || id.size() > 64) return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// "s-" followed by 8 to 64 characters from A-Z a-z 0-9 _ -
constexpr bool is_valid_session_id(std::string_view id) {
    if (id.size() < 10 || id.size() > 66 || id.substr(0, 2) != "s-") return false;
    for (char c : id.substr(2)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace adashta
