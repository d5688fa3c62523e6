// Command-line flags for the adashta subcommands: "--name VALUE", "--name=VALUE", switches
// ("--json"), and positional arguments, checked against what the subcommand accepts.
//
//   static constexpr Flag kFlags[] = {{"http", true}, {"json", false}};
//   auto args = parse_args(argc - 2, argv + 2, kFlags, "edge");
//   if (!args) return fail(args.error());
//   std::string http = args->value("http", "0.0.0.0:8080");
//
// A value may also come from the environment or a config file (config_file.hpp adds them
// below the flags given); Args remembers where each came from, so a message about a value
// names what the user has to change: "--max-outbox", "ADASHTA_MAX_OUTBOX" or
// "adashta.json: maxOutbox".
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

// One row of a subcommand's flag table. For `adashta edge` the row is also the flag's
// config-file key and environment variable (config_file.hpp): a flag added to the table
// gets both, named by the rule below, unless its row says otherwise.
struct Flag {
    std::string_view name;      // without the leading "--"
    bool takes_value;           // false: a switch
    bool list = false;          // comma-separated; a JSON array of strings in a config file
    std::string_view key = {};  // config-file key; empty: camelCase of name; "-": none
    std::string_view env = {};  // variable; empty: ADASHTA_ + NAME_IN_UPPER_SNAKE; "-": none
};

// The config-file key of a flag ("max-outbox" -> "maxOutbox"); empty when it has none.
std::string config_key(const Flag& flag);
// The environment variable of a flag ("max-outbox" -> "ADASHTA_MAX_OUTBOX"); empty: none.
std::string env_variable(const Flag& flag);

// Where a value came from. Values that are absent take the command's default.
struct Source {
    enum Kind { flag, env, file } kind = flag;
    std::string path;  // the config file, for kind file
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string, std::less<>> flags;  // switches map to "true"
    // Every flag decided by the command line, the environment or a file, also switches
    // turned off (ADASHTA_DURABLE=false): a lower source must not turn them on again.
    std::map<std::string, Source, std::less<>> sources;
    std::span<const Flag> known;  // the subcommand's table
    std::string command;          // "edge", for messages

    bool has(std::string_view name) const { return flags.find(name) != flags.end(); }
    std::string value(std::string_view name, std::string fallback = {}) const;
    // A whole number in [min, max]; bad_option naming where the value came from, the value
    // and the range otherwise.
    Result<std::int64_t> number(std::string_view name, std::int64_t fallback, std::int64_t min,
                                std::int64_t max) const;
    // What to call the value of a flag in a message: "--http", "ADASHTA_HTTP",
    // "adashta.json: http". A flag without a value is named as on the command line.
    std::string origin(std::string_view name) const;
    // Sets name from a lower source (environment, file) unless a higher one decided it.
    // value nullopt turns a switch off.
    void add_below(std::string_view name, std::optional<std::string> value, Source source);
};

// Fails with bad_option for an unknown flag (naming the nearest known one), a missing value,
// or a value given to a switch. command ("edge") is for the messages.
Result<Args> parse_args(int argc, char** argv, std::span<const Flag> known,
                        std::string_view command = {});

// The known name nearest to name when it is close enough to be a typo, else nullopt.
std::optional<std::string_view> nearest(std::string_view name,
                                        std::span<const std::string_view> known);

// Prints "adashta: <error>" to stderr and returns the exit code for it (2 for usage errors).
// The CLI's own errors (bad_option, bad_data, bind_failed) print their detail alone after the
// code name: it says what is wrong and what to do, where the catalogue's message is generic.
int fail(const Error& error);

}  // namespace adashta::cli
