// Command-line flags for the adashta subcommands: "--name VALUE", "--name=VALUE", switches
// ("--json"), and positional arguments, checked against what the subcommand accepts.
//
//   static constexpr Flag kFlags[] = {{"http", true}, {"json", false}};
//   auto args = parse_args(argc - 2, argv + 2, kFlags);
//   if (!args) return fail(args.error());
//   std::string http = args->value("http", "0.0.0.0:8080");
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::cli {

struct Flag {
    std::string_view name;  // without the leading "--"
    bool takes_value;       // false: a switch
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string, std::less<>> flags;  // switches map to "true"

    bool has(std::string_view name) const { return flags.find(name) != flags.end(); }
    std::string value(std::string_view name, std::string fallback = {}) const;
    // A whole number in [min, max]; bad_option naming the flag otherwise.
    Result<std::int64_t> number(std::string_view name, std::int64_t fallback, std::int64_t min,
                                std::int64_t max) const;
};

// Fails with bad_option for an unknown flag, a missing value, or a value given to a switch.
Result<Args> parse_args(int argc, char** argv, std::span<const Flag> known);

// Prints "adashta: <error>" to stderr and returns the exit code for it (2 for usage errors).
int fail(const Error& error);

}  // namespace adashta::cli
