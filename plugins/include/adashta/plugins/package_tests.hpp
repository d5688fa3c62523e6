// The tests a Lua plugin package carries: its tests.json, run through LuaPlugin
// (`adashta plugin test`; docs/plugins.md, "Packages" has the format).
//
//   auto report = plugins::run_package_tests("my-plugin");
//   if (!report) return report.error();       // bad_plugin: the manifest or tests.json
//   std::cout << report->passed << " passed, " << report->failed << " failed\n";
//
// tests.json: {"config": {...}, "state": {...}, "cases": [{"name", "hook", "message", "client",
// "expect": {"verdict": "pass"|"drop"|"reject", "data", "reason", "closeCode", "produced",
// "state"}}]}. A case passes when the hook's verdict is the expected one and, where the case
// says, its data (JSON-equal; for a pass that changes nothing, the message's own data),
// reason and close code are too, the messages it produced (in order: queue, data and the
// options named) and the state after it (null: no such key). The plugin runs with recording
// services: its produces are kept, not sent; its state starts as "state" and lives in memory
// through the cases, in their order.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::plugins {

inline constexpr std::string_view kPackageTestsFile = "tests.json";

struct CaseResult {
    std::string name;    // the case's "name" (or "case N")
    bool passed = false; // the verdict was the expected one
    std::string detail;  // why it failed: what was expected and what came
};

struct TestReport {
    std::vector<CaseResult> cases;  // in tests.json's order
    int passed = 0;                 // cases that passed
    int failed = 0;                 // cases that did not
    std::string load_error;         // the plugin did not load (every case then failed)
};

// Runs folder's tests.json against folder's Lua plugin. bad_plugin when the manifest or
// tests.json is not valid (naming the file and key), or the manifest's runtime is not lua;
// a plugin that fails to load or a hook that fails is a failed case, not an error.
Result<TestReport> run_package_tests(const std::filesystem::path& folder);

}  // namespace adashta::plugins
