// The edge's settings beyond the command line: its config file (JSON) and ADASHTA_*
// environment variables, both derived from the flag table, so a flag added to the table has
// a key and a variable without more code. Precedence: flag > environment > file > default.
//
//   auto args = parse_args(argc, argv, kFlags, "edge");       // the command line
//   auto problems = add_environment(*args);                    // ADASHTA_HTTP, ...
//   if (problems.empty()) problems = add_config_file(*args, args->value("config"));
//   for (const auto& p : problems) std::cerr << "adashta: " << p << "\n";
//
// The file holds one key per flag (config_key: camelCase of the flag, "maxOutbox"), plus the
// keys the edge reads itself: "queues" (store/queue_settings.hpp) and "auth" (the edge's
// access.cpp). Every problem is one line that names the file, the key and what is allowed:
//   adashta.json: maxOutbx: unknown key (did you mean maxOutbox?); allowed: ...
#pragma once

#include <string>
#include <vector>

#include "args.hpp"

namespace adashta::cli {

// Adds the value of every flag whose variable is set (and not empty) below what args holds.
// Switches take true/false, 1/0, yes/no, on/off. Returns the problems, one a line.
std::vector<std::string> add_environment(Args& args);

// Reads the config file at path and adds its flag keys below what args holds. Returns the
// problems, one a line, each starting with path: a missing or unreadable file, JSON that
// breaks (with line and column), an unknown key (with the nearest known one), a value of
// the wrong type. Ranges are checked later, where the values are used (Args::number).
std::vector<std::string> add_config_file(Args& args, const std::string& path);

// The keys a config file may hold, in table order, the edge's own ("queues", "auth") first.
std::vector<std::string> config_keys(std::span<const Flag> known);

// "line 2, column 7" for the byte at offset in text.
std::string line_and_column(std::string_view text, std::size_t offset);

}  // namespace adashta::cli
