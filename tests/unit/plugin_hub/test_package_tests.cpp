// adashta plugin test's runner: tests.json cases that check what a plugin produced and kept.
#include <catch2/catch.hpp>

#include "adashta/plugins/package_tests.hpp"
#include "plugins/plugin_folder.hpp"

using namespace adashta;
using namespace adashta::plugins;
using adashta::test::PluginFolder;

namespace {

// A Lua plugin that counts messages in its state and produces the count to the sender.
struct Counter : PluginFolder {
    explicit Counter(std::string_view tests) {
        manifest(R"({"name":"counter","version":"1.0.0","runtime":"lua","entry":"main.lua",)"
                 R"("hooks":["on_message"],"permissions":["produce","store"]})");
        write("main.lua", R"(
return { on_message = function(msg, client)
  local n = (adashta.state.get("count") or 0) + 1
  adashta.state.set("count", n)
  adashta.state.delete("stale")
  adashta.produce("counts", { n = n }, { to = client.session })
end })");
        write("tests.json", tests);
    }
};

}  // namespace

TEST_CASE("plugin test checks the messages a case produced and the state after it", "[package_tests]") {
    const Counter p(R"({"state": {"count": 40, "stale": true}, "cases": [
      {"name": "counts from the saved state", "hook": "on_message",
       "message": {"queue": "chat", "data": 1}, "client": {"session": "s1"},
       "expect": {"verdict": "pass", "state": {"count": 41, "stale": null},
                  "produced": [{"queue": "counts", "data": {"n": 41}, "to": "s1"}]}},
      {"name": "the state lives on into the next case", "hook": "on_message",
       "message": {"queue": "chat", "data": 1}, "client": {"session": "s2"},
       "expect": {"verdict": "pass", "state": {"count": 42},
                  "produced": [{"queue": "counts", "data": {"n": 42}, "to": "s2"}]}}
    ]})");
    auto report = run_package_tests(p.dir.path);
    REQUIRE(report);
    for (const auto& c : report->cases) INFO(c.name << ": " << c.detail);
    CHECK(report->passed == 2);
    CHECK(report->failed == 0);
}

TEST_CASE("plugin test says what was produced or kept when a case expected otherwise", "[package_tests]") {
    const Counter p(R"({"cases": [
      {"name": "wrong data", "hook": "on_message", "message": {"queue": "chat", "data": 1},
       "client": {"session": "s1"},
       "expect": {"verdict": "pass", "produced": [{"queue": "counts", "data": {"n": 7}}]}},
      {"name": "wrong count", "hook": "on_message", "message": {"queue": "chat", "data": 1},
       "client": {"session": "s1"}, "expect": {"verdict": "pass", "produced": []}},
      {"name": "wrong state", "hook": "on_message", "message": {"queue": "chat", "data": 1},
       "client": {"session": "s1"}, "expect": {"verdict": "pass", "state": {"count": 1}}}
    ]})");
    auto report = run_package_tests(p.dir.path);
    REQUIRE(report);
    REQUIRE(report->cases.size() == 3);
    CHECK(report->failed == 3);
    CHECK(report->cases[0].detail == R"(produced[0]: expected data {"n":7}, got {"n":1})");
    CHECK(report->cases[1].detail == R"(expected 0 produced messages, got 1 (the first to counts: {"n":2}))");
    CHECK(report->cases[2].detail == R"(expected state key "count" to hold 1, it holds 3)");
}
