#include "args.hpp"

#include <algorithm>
#include <charconv>
#include <iostream>
#include <numeric>

#include "adashta/log.hpp"

namespace adashta::cli {
namespace {

// "; see adashta edge --help", or "; see --help" without a command.
std::string see_help(std::string_view command) {
    if (command.empty()) return "; see --help";
    return "; see adashta " + std::string{command} + " --help";
}

// " for `adashta edge`", or nothing without a command.
std::string for_command(std::string_view command) {
    if (command.empty()) return {};
    return " for `adashta " + std::string{command} + "`";
}

// Edits (insert, delete, replace) that turn a into b.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string config_key(const Flag& flag) {
    if (flag.key == "-") return {};
    if (!flag.key.empty()) return std::string{flag.key};
    std::string key;
    bool upper = false;
    for (char c : flag.name) {
        if (c == '-') {
            upper = true;
            continue;
        }
        key += upper ? static_cast<char>(c - 'a' + 'A') : c;
        upper = false;
    }
    return key;
}

std::string env_variable(const Flag& flag) {
    if (flag.env == "-") return {};
    if (!flag.env.empty()) return std::string{flag.env};
    std::string name = "ADASHTA_";
    for (char c : flag.name) name += c == '-' ? '_' : static_cast<char>(c - 'a' + 'A');
    return name;
}

std::string Args::value(std::string_view name, std::string fallback) const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
}

std::string Args::origin(std::string_view name) const {
    const auto flag = std::find_if(known.begin(), known.end(),
                                   [&](const Flag& f) { return f.name == name; });
    auto it = sources.find(name);
    if (it == sources.end() || it->second.kind == Source::flag || flag == known.end())
        return "--" + std::string{name};
    if (it->second.kind == Source::env) return env_variable(*flag);
    return it->second.path + ": " + config_key(*flag);
}

void Args::add_below(std::string_view name, std::optional<std::string> value, Source source) {
    if (sources.contains(name)) return;
    sources.emplace(std::string{name}, std::move(source));
    if (value) flags[std::string{name}] = std::move(*value);
}

Result<std::int64_t> Args::number(std::string_view name, std::int64_t fallback, std::int64_t min,
                                  std::int64_t max) const {
    auto it = flags.find(name);
    if (it == flags.end()) return fallback;
    const std::string& text = it->second;
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    const std::string allowed =
        "; allowed: a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    if (ec == std::errc::result_out_of_range || (ec == std::errc{} && (n < min || n > max)))
        return make_error(Errc::bad_option,
                          origin(name) + ": " + text + " is out of range" + allowed);
    if (ec != std::errc{} || end != text.data() + text.size())
        return make_error(Errc::bad_option,
                          origin(name) + ": \"" + text + "\" is not a whole number" + allowed);
    return n;
}

std::optional<std::string_view> nearest(std::string_view name,
                                        std::span<const std::string_view> known) {
    std::optional<std::string_view> best;
    std::size_t best_distance = 0;
    for (std::string_view candidate : known) {
        const std::size_t d = edit_distance(name, candidate);
        if (!best || d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    // Two edits, or a third of the name: "htp" -> "http", "max-outbx" -> "max-outbox".
    if (!best || best_distance > std::max<std::size_t>(2, name.size() / 3)) return std::nullopt;
    return best;
}

Result<Args> parse_args(int argc, char** argv, std::span<const Flag> known,
                        std::string_view command) {
    Args args;
    args.known = known;
    args.command = std::string{command};
    for (int i = 0; i < argc; ++i) {
        std::string_view arg{argv[i]};
        if (arg.size() < 3 || arg.substr(0, 2) != "--") {
            args.positional.emplace_back(arg);
            continue;
        }
        arg.remove_prefix(2);
        std::string_view name = arg;
        std::optional<std::string> inline_value;
        if (auto eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            inline_value = std::string{arg.substr(eq + 1)};
        }
        const Flag* flag = nullptr;
        for (const Flag& f : known)
            if (f.name == name) flag = &f;
        if (!flag) {
            std::vector<std::string_view> names;
            for (const Flag& f : known) names.push_back(f.name);
            std::string text = "unknown flag --" + std::string{name} + for_command(command);
            if (auto close = nearest(name, names))
                text += " (did you mean --" + std::string{*close} + "?)";
            text += see_help(command);
            return make_error(Errc::bad_option, text);
        }
        if (!flag->takes_value) {
            if (inline_value)
                return make_error(Errc::bad_option, "--" + std::string{name} +
                                                        " is a switch and takes no value" +
                                                        see_help(command));
            args.flags[std::string{name}] = "true";
            args.sources[std::string{name}] = Source{};
            continue;
        }
        if (!inline_value) {
            // "--data --mesh X": the user forgot the value, --mesh is not a folder name.
            const auto next_is_flag = [&] {
                const std::string_view next{argv[i + 1]};
                return next.starts_with("--") &&
                       std::any_of(known.begin(), known.end(), [&](const Flag& f) {
                           return next.substr(2, next.find('=') - 2) == f.name;
                       });
            };
            if (i + 1 >= argc || next_is_flag())
                return make_error(Errc::bad_option, "--" + std::string{name} +
                                                        " needs a value after it" +
                                                        see_help(command));
            inline_value = argv[++i];
        }
        args.flags[std::string{name}] = *inline_value;
        args.sources[std::string{name}] = Source{};
    }
    return args;
}

int fail(const Error& error) {
    // With JSON logs (--log-format json, ADASHTA_LOG_FORMAT=json) the reason a command
    // stopped is a JSON line like the rest, for the collector that reads them.
    const bool own = error.code == Errc::bad_option || error.code == Errc::bad_data ||
                     error.code == Errc::bind_failed;
    const std::string text = own && !error.detail.empty()
                                 ? std::string{error_info(error.code).name} + ": " + error.detail
                                 : error.to_string();
    if (log::format() == log::Format::json)
        log::error("adashta", text);
    else
        std::cerr << "adashta: " << text << "\n";
    return error.code == Errc::bad_option ? 2 : 1;
}

}  // namespace adashta::cli
