#include "args.hpp"

#include <charconv>
#include <iostream>

#include "adashta/log.hpp"

namespace adashta::cli {

std::string Args::value(std::string_view name, std::string fallback) const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
}

Result<std::int64_t> Args::number(std::string_view name, std::int64_t fallback, std::int64_t min,
                                  std::int64_t max) const {
    auto it = flags.find(name);
    if (it == flags.end()) return fallback;
    const std::string& text = it->second;
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n < min || n > max)
        return make_error(Errc::bad_option, "--" + std::string{name} +
                                                " wants a whole number from " +
                                                std::to_string(min) + " to " + std::to_string(max) +
                                                ", got \"" + text + "\"");
    return n;
}

Result<Args> parse_args(int argc, char** argv, std::span<const Flag> known) {
    Args args;
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
        if (!flag)
            return make_error(Errc::bad_option,
                              "unknown flag --" + std::string{name} + "; see --help");
        if (!flag->takes_value) {
            if (inline_value)
                return make_error(Errc::bad_option, "--" + std::string{name} + " takes no value");
            args.flags[std::string{name}] = "true";
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= argc)
                return make_error(Errc::bad_option,
                                  "--" + std::string{name} + " needs a value; see --help");
            inline_value = argv[++i];
        }
        args.flags[std::string{name}] = *inline_value;
    }
    return args;
}

int fail(const Error& error) {
    // With JSON logs (--log-format json, ADASHTA_LOG_FORMAT=json) the reason a command
    // stopped is a JSON line like the rest, for the collector that reads them.
    if (log::format() == log::Format::json)
        log::error("adashta", error.to_string());
    else
        std::cerr << "adashta: " << error.to_string() << "\n";
    return error.code == Errc::bad_option ? 2 : 1;
}

}  // namespace adashta::cli
