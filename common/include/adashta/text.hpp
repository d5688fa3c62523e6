// Small text helpers shared by the CLI, the SDK's environment reader and the edge.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace adashta {

// "a,b , c,," -> {"a", "b", "c"}: comma-separated items, trimmed, empty ones dropped.
std::vector<std::string> split_list(std::string_view text);

}  // namespace adashta
