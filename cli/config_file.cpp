#include "config_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "adashta/json.hpp"

namespace adashta::cli {
namespace {

// Keys the edge reads from the file itself, beside the flags' keys.
constexpr std::string_view kEdgeKeys[] = {"queues", "auth", "plugins"};

constexpr std::string_view kExample =
    R"({"http": "0.0.0.0:8080", "queues": {"chat": {"retention": "1h"}}})";

// The start of a value for a message, on one line (a problem is one line): enough to
// recognise it, never a whole file.
std::string excerpt(std::string_view text) {
    constexpr std::size_t kMax = 40;
    std::string out;
    for (char c : text) {
        const bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
        if (space && (out.empty() || out.back() == ' ')) continue;
        out += space ? ' ' : c;
        if (out.size() > kMax) return out + "...";
    }
    return out;
}

const Flag* flag_for_key(std::span<const Flag> known, std::string_view key) {
    for (const Flag& f : known)
        if (config_key(f) == key) return &f;
    return nullptr;
}

// A switch's value in the environment, or nullopt when it is not one.
std::optional<bool> switch_text(std::string_view text) {
    for (std::string_view on : {"1", "true", "yes", "on"})
        if (text == on) return true;
    for (std::string_view off : {"0", "false", "no", "off"})
        if (text == off) return false;
    return std::nullopt;
}

// One member of the file as the text a flag would carry; the error says what was expected.
Result<std::optional<std::string>> flag_text(const Flag& flag, std::string_view raw) {
    if (!flag.takes_value) {
        if (raw == "true") return std::optional<std::string>{"true"};
        if (raw == "false") return std::optional<std::string>{};
        return make_error(Errc::bad_option,
                          excerpt(raw) + " is not a switch; allowed: true or false");
    }
    if (flag.list) {
        if (raw.starts_with('"')) return std::optional<std::string>{json::unquote(raw)};
        auto elements = json::array_elements(raw);
        bool strings = elements.ok();
        std::string joined;
        for (std::string_view element : strings ? *elements : std::vector<std::string_view>{}) {
            auto text = json::unquote(element);
            strings = strings && text.has_value();
            if (text) joined += (joined.empty() ? "" : ",") + *text;
        }
        if (!strings)
            return make_error(Errc::bad_option, excerpt(raw) +
                                                    " is not a list; allowed: an array of "
                                                    "strings, like [\"a\", \"b\"]");
        return std::optional<std::string>{joined};
    }
    if (raw.starts_with('"')) return std::optional<std::string>{json::unquote(raw)};
    if (raw.starts_with('{') || raw.starts_with('[') || raw == "null")
        return make_error(Errc::bad_option,
                          excerpt(raw) + " is not a single value; allowed: a string or a number");
    return std::optional<std::string>{std::string{raw}};  // a number, or true/false: checked later
}

// The whole file, or why not.
Result<std::string> read_text(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)  // e.g. a folder on the way is closed
        return make_error(Errc::bad_option, path + ": cannot read it (" + ec.message() +
                                                "); check the permissions of it and its folders");
    if (!std::filesystem::exists(status))
        return make_error(Errc::bad_option, path + ": does not exist; create it, e.g. " +
                                                std::string{kExample} +
                                                ", or leave out --config (ADASHTA_CONFIG)");
    if (std::filesystem::is_directory(status))
        return make_error(Errc::bad_option, path + ": is a folder; give the path of a JSON file");
    std::ifstream file{path, std::ios::binary};
    if (!file)
        return make_error(Errc::bad_option, path + ": cannot read it (" + std::strerror(errno) +
                                                "); check its permissions");
    std::ostringstream contents;
    contents << file.rdbuf();
    return contents.str();
}

}  // namespace

std::string line_and_column(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    const std::string_view before = text.substr(0, offset);
    const auto newlines = std::count(before.begin(), before.end(), '\n');
    const std::size_t line = 1 + static_cast<std::size_t>(newlines);
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column =
        line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::vector<std::string> config_keys(std::span<const Flag> known) {
    std::vector<std::string> keys{std::begin(kEdgeKeys), std::end(kEdgeKeys)};
    for (const Flag& f : known)
        if (auto key = config_key(f); !key.empty()) keys.push_back(std::move(key));
    return keys;
}

std::vector<std::string> add_environment(Args& args) {
    std::vector<std::string> problems;
    for (const Flag& flag : args.known) {
        const std::string variable = env_variable(flag);
        const char* value = variable.empty() ? nullptr : std::getenv(variable.c_str());
        if (!value || !*value) continue;
        if (flag.takes_value) {
            args.add_below(flag.name, std::string{value}, Source{Source::env, {}});
            continue;
        }
        auto on = switch_text(value);
        if (!on) {
            problems.push_back(variable + "=" + excerpt(value) +
                               ": not a switch; allowed: true or false (also 1/0, yes/no, on/off)");
            continue;
        }
        args.add_below(flag.name, *on ? std::optional<std::string>{"true"} : std::nullopt,
                       Source{Source::env, {}});
    }
    return problems;
}

std::vector<std::string> add_config_file(Args& args, const std::string& path) {
    if (path.empty()) return {};
    auto text = read_text(path);
    if (!text) return {text.error().detail};
    if (auto failure = json::first_failure(*text))
        return {path + ": not valid JSON at " + line_and_column(*text, failure->offset) + ": " +
                failure->expected};
    auto top = json::ObjectView::parse(*text);
    if (!top)
        return {path + ": expected an object {\"key\": value, ...} at the top, found " +
                excerpt(*text)};

    const std::vector<std::string> keys = config_keys(args.known);
    std::vector<std::string_view> key_views{keys.begin(), keys.end()};
    std::string all;
    for (const auto& k : keys) all += (all.empty() ? "" : ", ") + k;

    std::vector<std::string> problems;
    std::set<std::string, std::less<>> seen;
    for (const auto& [key, raw] : top->members()) {
        if (!seen.insert(key).second) {
            problems.push_back(path + ": " + key + ": appears twice; keep one");
            continue;
        }
        if (std::find(std::begin(kEdgeKeys), std::end(kEdgeKeys), key) != std::end(kEdgeKeys))
            continue;  // the edge's own, checked where they are read
        const Flag* flag = flag_for_key(args.known, key);
        if (!flag) {
            std::string hint;
            if (auto close = nearest(key, key_views))
                hint = " (did you mean " + std::string{*close} + "?)";
            problems.push_back(path + ": " + key + ": unknown key" + hint + "; allowed: " + all);
            continue;
        }
        auto value = flag_text(*flag, raw);
        if (!value) {
            problems.push_back(path + ": " + key + ": " + value.error().detail);
            continue;
        }
        args.add_below(flag->name, std::move(*value), Source{Source::file, path});
    }
    return problems;
}

}  // namespace adashta::cli
