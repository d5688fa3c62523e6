// Queue settings: limits, durations and the JSON config file. Errors name the key in the
// config file's spelling, because that is what the user wrote and has to change.
#include "adashta/store/queue_settings.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "adashta/json.hpp"
#include "adashta/names.hpp"

namespace adashta::store {
namespace {

constexpr std::string_view kDurationHelp =
    "write whole milliseconds (250) or a number with a unit: 250ms, 30s, 5m, 2h, 7d, 1h30m";

constexpr std::string_view kExample =
    R"({"queues": {"orders": {"retention": "7d", "visibility": "30s", "maxReceive": 5, )"
    R"("deadLetter": "orders.dead"}}})";

std::string in_quotes(std::string_view text) {
    return json::quote(text);
}

// The start of a value for an error message: enough to recognise it, never a whole file.
std::string excerpt(std::string_view text) {
    constexpr std::size_t kMax = 40;
    if (text.size() <= kMax) return std::string{text};
    return std::string{text.substr(0, kMax)} + "...";
}

// "visibility: 13h is more than the maximum of 12h"
Error out_of_range(Errc code, std::string_view key, std::string_view what) {
    return make_error(code, std::string{key} + ": " + std::string{what});
}

Status check_time(std::string_view key, std::int64_t ms, std::int64_t min, std::int64_t max) {
    if (ms < 0) return out_of_range(Errc::bad_timeout, key, std::to_string(ms) + " is negative");
    if (ms < min)
        return out_of_range(
            Errc::bad_timeout, key,
            std::to_string(ms) + " ms is less than the minimum of " + format_duration(min));
    if (ms > max)
        return out_of_range(
            Errc::bad_timeout, key,
            format_duration(ms) + " is more than the maximum of " + format_duration(max));
    return {};
}

Status check_count(std::string_view key, std::int64_t value, std::int64_t min, std::int64_t max) {
    if (value < min || value > max)
        return out_of_range(Errc::bad_option, key,
                            std::to_string(value) + " is outside " + std::to_string(min) + ".." +
                                std::to_string(max));
    return {};
}

// The members of a JSON object that ObjectView::parse has already validated, in order, keys
// decoded. ObjectView answers "what is the value of key k"; a config reader must also ask
// "which keys are there", to refuse the ones it does not know.
std::vector<std::pair<std::string, std::string_view>> members_of(std::string_view object) {
    std::vector<std::pair<std::string, std::string_view>> out;
    std::size_t i = 0;
    const auto skip_space = [&] {
        while (i < object.size() &&
               (object[i] == ' ' || object[i] == '\t' || object[i] == '\n' || object[i] == '\r'))
            ++i;
    };
    // Index just past the string literal that starts at object[at] (a '"').
    const auto string_end = [&](std::size_t at) {
        std::size_t j = at + 1;
        while (object[j] != '"') j += object[j] == '\\' ? 2 : 1;
        return j + 1;
    };
    skip_space();
    ++i;  // '{'
    for (;;) {
        skip_space();
        if (object[i] == '}') break;
        const std::size_t key_end = string_end(i);
        std::string key = json::unquote(object.substr(i, key_end - i)).value_or(std::string{});
        i = key_end;
        skip_space();
        ++i;  // ':'
        skip_space();
        const std::size_t value_start = i;
        int depth = 0;
        while (i < object.size()) {
            const char c = object[i];
            if (c == '"') {
                i = string_end(i);
                continue;
            }
            if (depth == 0 && (c == ',' || c == '}')) break;
            if (c == '{' || c == '[') ++depth;
            if (c == '}' || c == ']') --depth;
            ++i;
        }
        std::size_t value_end = i;
        while (value_end > value_start &&
               (object[value_end - 1] == ' ' || object[value_end - 1] == '\t' ||
                object[value_end - 1] == '\n' || object[value_end - 1] == '\r'))
            --value_end;
        out.emplace_back(std::move(key), object.substr(value_start, value_end - value_start));
        if (object[i] == ',') ++i;
    }
    return out;
}

// A parsed object and its members; the text must outlive it.
struct Object {
    std::vector<std::pair<std::string, std::string_view>> members;  // key, raw value
};

// `text` as a JSON object, or an error that says where it is and what it is instead.
Result<Object> object_at(std::string_view text, const std::string& where) {
    auto parsed = json::ObjectView::parse(text);
    if (!parsed) {
        // ObjectView says "expected an object" for arrays and scalars too; say what it is.
        if (json::is_valid(text))
            return make_error(Errc::bad_option,
                              where + ": expected an object {...}, found " + excerpt(text));
        return make_error(Errc::bad_option,
                          where + ": not valid JSON (" + parsed.error().detail + ")");
    }
    Object object{members_of(text)};
    std::set<std::string_view> seen;
    for (const auto& member : object.members)
        if (!seen.insert(member.first).second)
            return make_error(Errc::bad_option,
                              where + ": " + in_quotes(member.first) + " appears twice");
    return object;
}

Result<std::int64_t> integer_value(std::string_view raw) {
    std::int64_t value = 0;
    const char* end = raw.data() + raw.size();
    const auto [ptr, ec] = std::from_chars(raw.data(), end, value);
    if (ec != std::errc{} || ptr != end)
        return make_error(Errc::bad_option, "expected a whole number, found " + excerpt(raw));
    return value;
}

// A duration member: whole milliseconds, or a string with units.
Result<std::int64_t> duration_value(std::string_view raw) {
    if (raw.starts_with('"')) {
        const auto text = json::unquote(raw);
        if (!text) return make_error(Errc::bad_option, "expected a duration");
        return parse_duration_ms(*text);
    }
    auto ms = integer_value(raw);
    if (!ms)
        return make_error(Errc::bad_option,
                          "expected whole milliseconds (30000) or a string with a unit (\"30s\"), "
                          "found " +
                              excerpt(raw));
    return ms;
}

// Applies one member to settings; the error detail is what is wrong with the value.
Status apply(QueueSettings& s, std::string_view key, std::string_view raw) {
    const auto set_duration = [&](std::int64_t& field) -> Status {
        auto ms = duration_value(raw);
        if (!ms) return ms.error();
        field = *ms;
        return {};
    };
    const auto set_integer = [&](std::int64_t& field) -> Status {
        auto value = integer_value(raw);
        if (!value) return value.error();
        field = *value;
        return {};
    };
    if (key == "retention") return set_duration(s.retention_ms);
    if (key == "visibility") return set_duration(s.visibility_ms);
    if (key == "delay") return set_duration(s.delay_ms);
    if (key == "maxMessages") return set_integer(s.max_messages);
    if (key == "maxMessageBytes") return set_integer(s.max_message_bytes);
    if (key == "maxBytes") return set_integer(s.max_bytes);
    if (key == "maxReceive") return set_integer(s.max_receive);
    if (key == "deadLetter") {
        auto name = json::unquote(raw);
        if (!name) return make_error(Errc::bad_option, "expected a queue name in quotes");
        s.dead_letter = std::move(*name);
        return {};
    }
    if (key == "clientSchedule") {
        if (raw != "true" && raw != "false")
            return make_error(Errc::bad_option, "expected true or false, found " + excerpt(raw));
        s.client_schedule = raw == "true";
        return {};
    }
    if (key == "durable") {
        if (raw != "true" && raw != "false")
            return make_error(Errc::bad_option, "expected true or false, found " + excerpt(raw));
        s.durable = raw == "true";
        return {};
    }
    return make_error(Errc::bad_option,
                      "unknown key; known keys: retention, maxMessages, maxBytes, maxMessageBytes, "
                      "visibility, delay, maxReceive, deadLetter, clientSchedule, durable");
}

}  // namespace

Status QueueSettings::validate(std::string_view queue) const {
    if (auto ok = check_time("retention", retention_ms, 1, kMaxRetentionMs); !ok) return ok;
    if (auto ok = check_time("visibility", visibility_ms, 0, kMaxVisibilityMs); !ok) return ok;
    if (auto ok = check_time("delay", delay_ms, 0, kMaxDelayMs); !ok) return ok;
    if (auto ok = check_count("maxMessages", max_messages, 1,
                              std::numeric_limits<std::int64_t>::max() / 2);
        !ok)
        return ok;
    if (auto ok = check_count("maxMessageBytes", max_message_bytes, 1, kMaxMessageBytesLimit); !ok)
        return ok;
    if (max_bytes != 0) {
        if (auto ok = check_count("maxBytes", max_bytes, 1,
                                  std::numeric_limits<std::int64_t>::max() / 2);
            !ok)
            return ok;
        if (max_bytes < max_message_bytes)
            return out_of_range(Errc::bad_option, "maxBytes",
                                std::to_string(max_bytes) + " is less than maxMessageBytes (" +
                                    std::to_string(max_message_bytes) +
                                    "), so one message could push out all the others; raise "
                                    "maxBytes, lower maxMessageBytes, or give 0 for no limit");
    }
    if (auto ok = check_count("maxReceive", max_receive, 0, std::numeric_limits<int>::max()); !ok)
        return ok;
    if (!durable) {
        // Nothing is stored, so nothing can wait, come again or move elsewhere.
        const auto stored_only = [](std::string_view key) {
            return out_of_range(Errc::bad_option, key,
                                "needs a stored queue; remove it, or remove \"durable\": false");
        };
        if (delay_ms > 0) return stored_only("delay");
        if (client_schedule) return stored_only("clientSchedule");
        if (max_receive > 0) return stored_only("maxReceive");
        if (!dead_letter.empty()) return stored_only("deadLetter");
    }
    if (!dead_letter.empty()) {
        if (!is_valid_queue_name(dead_letter))
            return out_of_range(Errc::bad_option, "deadLetter",
                                in_quotes(dead_letter) +
                                    " is not a queue name (1 to 128 of A-Z a-z 0-9 . _ : / -)");
        if (dead_letter == queue)
            return out_of_range(Errc::bad_option, "deadLetter",
                                "a queue cannot be its own dead-letter queue");
        if (max_receive == 0)
            return out_of_range(Errc::bad_option, "deadLetter",
                                "needs maxReceive above 0, or no message ever goes there");
    }
    return {};
}

Result<std::int64_t> parse_duration_ms(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    const std::string shown = in_quotes(excerpt(text));
    if (text.empty())
        return make_error(Errc::bad_option, "empty duration; " + std::string{kDurationHelp});
    if (text.front() == '-')
        return make_error(Errc::bad_timeout, shown + " is negative; durations start at 0");
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    std::int64_t total = 0;
    std::size_t i = 0;
    bool had_unit = false;
    while (i < text.size()) {
        if (text[i] < '0' || text[i] > '9')
            return make_error(Errc::bad_option,
                              shown + " is not a duration; " + std::string{kDurationHelp});
        std::int64_t number = 0;
        const auto [ptr, ec] = std::from_chars(text.data() + i, text.data() + text.size(), number);
        if (ec == std::errc::result_out_of_range)
            return make_error(Errc::bad_timeout, shown + " is too large");
        i = static_cast<std::size_t>(ptr - text.data());
        std::size_t unit_end = i;
        while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z') ++unit_end;
        const std::string_view unit = text.substr(i, unit_end - i);
        std::int64_t scale = 0;
        if (unit.empty()) {
            if (unit_end != text.size())
                return make_error(Errc::bad_option,
                                  shown + " is not a duration; " + std::string{kDurationHelp});
            // A bare number is milliseconds, but only on its own: "1h30" is a mistake.
            if (had_unit)
                return make_error(Errc::bad_option, shown + " ends in a number without a unit; " +
                                                        std::string{kDurationHelp});
            scale = 1;
        } else if (unit == "ms") {
            scale = 1;
        } else if (unit == "s") {
            scale = kSecondMs;
        } else if (unit == "m") {
            scale = kMinuteMs;
        } else if (unit == "h") {
            scale = kHourMs;
        } else if (unit == "d") {
            scale = kDayMs;
        } else {
            return make_error(Errc::bad_option, shown + ": unknown unit " + in_quotes(unit) + "; " +
                                                    std::string{kDurationHelp});
        }
        if (number > (kMax - total) / scale)
            return make_error(Errc::bad_timeout, shown + " is too large");
        total += number * scale;
        had_unit = !unit.empty();
        i = unit_end;
    }
    return total;
}

std::string format_duration(std::int64_t ms) {
    if (ms == 0) return "0";
    std::string out;
    if (ms < 0) {
        out = "-";
        ms = -ms;
    }
    const std::pair<std::int64_t, const char*> units[] = {
        {kDayMs, "d"}, {kHourMs, "h"}, {kMinuteMs, "m"}, {kSecondMs, "s"}, {1, "ms"}};
    for (const auto& [scale, name] : units) {
        if (ms >= scale) {
            out += std::to_string(ms / scale) + name;
            ms %= scale;
        }
    }
    return out;
}

Result<QueueSettings> parse_queue_settings(std::string_view object_json, const QueueSettings& base,
                                           std::string_view queue, std::string_view where) {
    const std::string prefix = where.empty() ? std::string{} : std::string{where} + ".";
    auto object = object_at(object_json, where.empty() ? "settings" : std::string{where});
    if (!object) return object.error();
    QueueSettings settings = base;
    for (const auto& [key, raw] : object->members) {
        if (auto ok = apply(settings, key, raw); !ok)
            return make_error(Errc::bad_option, prefix + key + ": " + ok.error().detail);
    }
    // validate() cannot tell a retention or visibility given from the default one.
    if (!settings.durable)
        for (const auto& [key, raw] : object->members)
            if (key == "retention" || key == "maxMessages" || key == "maxBytes" ||
                key == "visibility")
                return make_error(Errc::bad_option,
                                  prefix + key +
                                      ": a queue with \"durable\": false keeps nothing; remove "
                                      "it, or remove \"durable\": false");
    if (auto ok = settings.validate(queue); !ok)
        return make_error(Errc::bad_option, prefix + ok.error().detail);
    return settings;
}

std::string to_json(const QueueSettings& s) {
    if (!s.durable)
        return "{\"maxMessageBytes\":" + std::to_string(s.max_message_bytes) +
               ",\"durable\":false}";
    std::string out = "{\"retention\":" + std::to_string(s.retention_ms) +
                      ",\"maxMessages\":" + std::to_string(s.max_messages) +
                      ",\"maxBytes\":" + std::to_string(s.max_bytes) +
                      ",\"maxMessageBytes\":" + std::to_string(s.max_message_bytes) +
                      ",\"visibility\":" + std::to_string(s.visibility_ms) +
                      ",\"delay\":" + std::to_string(s.delay_ms) +
                      ",\"maxReceive\":" + std::to_string(s.max_receive) + ",\"deadLetter\":";
    json::append_quoted(out, s.dead_letter);
    out += s.client_schedule ? ",\"clientSchedule\":true}" : ",\"clientSchedule\":false}";
    return out;
}

Result<std::map<std::string, QueueSettings>> load_queue_settings(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return make_error(Errc::bad_option,
                          path + " does not exist; create it with the queues to configure, e.g. " +
                              std::string{kExample} + ", or leave out the config option");
    if (std::filesystem::is_directory(path, ec))
        return make_error(Errc::bad_option, path + " is a folder; give the path of a JSON file");
    std::ifstream file{path, std::ios::binary};
    if (!file)
        return make_error(Errc::bad_option, path + ": cannot read (" + std::strerror(errno) + ")");
    std::ostringstream contents;
    contents << file.rdbuf();
    const std::string text = contents.str();

    auto top = object_at(text, path);
    if (!top) return top.error();
    std::map<std::string, QueueSettings> queues;
    for (const auto& [key, raw] : top->members) {
        // The other keys are the edge's: its flags, "auth". `adashta edge` checks each of
        // them and refuses unknown ones before the store reads the file (cli/config_file.cpp).
        if (key != "queues") continue;
        auto list = object_at(raw, path + ": queues");
        if (!list) return list.error();
        for (const auto& [name, settings_json] : list->members) {
            const std::string where = path + ": queues." + name;
            if (!is_valid_queue_name(name))
                return make_error(Errc::bad_option,
                                  where + ": not a queue name (1 to 128 of A-Z a-z 0-9 . _ : / -)");
            auto settings = parse_queue_settings(settings_json, QueueSettings{}, name, where);
            if (!settings) return settings.error();
            queues.emplace(name, std::move(*settings));
        }
    }
    return queues;
}

}  // namespace adashta::store
