// The settings of `adashta edge`: its flag table (cmd_edge.cpp) and how the flags, the
// environment and the config file become EdgeOptions. `adashta config` checks and shows
// them the same way the edge reads them.
//
//   auto args = parse_args(argc, argv, edge_flags(), "edge");
//   auto problems = add_edge_sources(*args);     // environment, then --config's file
//   auto options = edge_options(*args);           // ranges; bad_option naming the source
#pragma once

#include <span>
#include <string>
#include <vector>

#include "args.hpp"
#include "edge.hpp"

namespace adashta::cli {

// The flag table of `adashta edge`, one row per flag.
std::span<const Flag> edge_flags();

// Adds the ADASHTA_* variables, then the config file (--config or ADASHTA_CONFIG), below the
// flags args holds. The problems, one a line (config_file.hpp); empty when all is well.
std::vector<std::string> add_edge_sources(Args& args);

// The EdgeOptions the values in args make, or bad_option naming where the wrong value came
// from, the value and what is allowed.
Result<edge::EdgeOptions> edge_options(const Args& args);

}  // namespace adashta::cli
