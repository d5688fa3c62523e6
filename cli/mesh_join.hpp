// Joining a mesh for a moment, as the CLI's tools do: options from flags and ADASHTA_*,
// waiting for an edge, and the help text those flags share.
#pragma once

#include <string>
#include <string_view>

#include "adashta/node.hpp"
#include "args.hpp"

namespace adashta::cli {

inline constexpr std::string_view kJoinHelp = R"(
  --seeds LIST            comma-separated mesh endpoints to join
                          (default: $ADASHTA_SEEDS, else tcp://127.0.0.1:7700)
  --mesh-key FILE         this tool's CURVE key, FILE_secret of `adashta keys new`
                          (default: $ADASHTA_MESH_KEY, or $ADASHTA_MESH_SECRET)
  --mesh-allow FILE       the allow-list of member keys (default: $ADASHTA_MESH_ALLOW)
  --timeout-ms MS         how long to wait for an edge (default 5000)
  --help                  this text
)";

// Node options from ADASHTA_* and --seeds/--name; tool: joins with role "tool".
NodeOptions join_options(const Args& args, bool tool, std::string name);
// Starts node and waits for an edge (--timeout-ms); an error that says what to check otherwise.
Status join(Node& node, const Args& args, const NodeOptions& options);
// --help prints help and returns 0; a wrong number of positionals prints it and returns 2;
// else -1 (go on).
int help_or_usage(const Args& args, std::string_view help, std::size_t positionals);

}  // namespace adashta::cli
