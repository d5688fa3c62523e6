// adashta.produce and adashta.state in a Lua plugin, against a recording PluginServices.
#include <catch2/catch.hpp>

#include <string>

#include "adashta/json.hpp"
#include "adashta/plugins/lua_plugin.hpp"
#include "plugin_folder.hpp"
#include "recording_services.hpp"

using namespace adashta;
using namespace adashta::plugins;
using adashta::test::PluginFolder;
using adashta::test::RecordingServices;

namespace {

// Runs msg.data.code (one Lua chunk) and answers "ok: R" (R what it returned) or "error: E".
constexpr std::string_view kEvaluator = R"(
return { on_message = function(msg)
  local f, err = load(msg.data.code)
  if not f then return adashta.pass("error: " .. err) end
  local ok, r = pcall(f)
  return adashta.pass((ok and "ok: " or "error: ") .. tostring(r))
end })";

struct LuaPackage : PluginFolder {
    explicit LuaPackage(std::string_view permissions, std::string_view main = kEvaluator) {
        write("main.lua", main);
        manifest(std::string{R"({"name":"counter","version":"1.0.0","runtime":"lua","entry":"main.lua",)"
                             R"("hooks":["on_message"],"limits":{"callMs":5000},"permissions":)"} +
                 std::string{permissions} + "}");
    }
    std::unique_ptr<LuaPlugin> load(PluginServices* services) const {
        auto m = read_manifest(dir.path);
        REQUIRE(m);
        auto plugin = LuaPlugin::load(*m, "", services);
        if (!plugin) FAIL(plugin.error().to_string());
        return std::move(*plugin);
    }
};

std::string quoted(std::string_view code) {
    std::string out = "\"";
    for (char c : code) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

// What the code returned ("ok: ...") or raised ("error: ...").
std::string run(LuaPlugin& plugin, std::string_view code) {
    const Outcome out = plugin.call({Hook::on_message, R"({"queue":"chat","id":"m1"})",
                                     R"({"code":)" + quoted(code) + "}", R"({"session":"s1"})"});
    if (out.failure != Failure::none) return "failed: " + out.error;
    if (!out.verdict.data) return "unchanged";
    return json::unquote(*out.verdict.data).value_or("not a string: " + *out.verdict.data);
}

}  // namespace

TEST_CASE("a Lua plugin produces messages with their options, fire and forget", "[lua][services]") {
    LuaPackage p(R"(["produce"])");
    RecordingServices services;
    auto plugin = p.load(&services);
    CHECK(run(*plugin, R"(adashta.produce("room.lobby", { here = 3 }))") == R"(ok: nil)");
    CHECK(run(*plugin, R"(adashta.produce("room.lobby", "hi", { to = "s-42", delayMs = 250 }))") ==
          R"(ok: nil)");
    CHECK(run(*plugin, R"(adashta.produce("jobs", adashta.json.array({1, 2}), { toServer = true, session = "k" }))") ==
          R"(ok: nil)");
    CHECK(run(*plugin, R"(adashta.produce("news", adashta.json.null, { user = "alice" }))") == R"(ok: nil)");
    // The store's refusal comes later and is logged: the call itself goes on.
    services.refuse = make_error(Errc::storage_full);
    CHECK(run(*plugin, R"(adashta.produce("room.lobby", 1); return "after")") == R"(ok: after)");

    std::lock_guard lock(services.mutex);
    REQUIRE(services.produced.size() == 5);
    const PluginProduce& first = services.produced[0];
    CHECK(first.plugin == "counter");
    CHECK(first.queue == "room.lobby");
    CHECK(first.data == R"({"here":3})");
    CHECK(first.to.empty());
    CHECK_FALSE(first.to_server);
    CHECK(services.produced[1].data == R"("hi")");
    CHECK(services.produced[1].to == "s-42");
    CHECK(services.produced[1].delay_ms == 250);
    CHECK(services.produced[2].data == "[1,2]");
    CHECK(services.produced[2].to_server);
    CHECK(services.produced[2].session == "k");
    CHECK(services.produced[3].data == "null");
    CHECK(services.produced[3].user == "alice");
}

TEST_CASE("adashta.produce raises at once on arguments it cannot take", "[lua][services]") {
    LuaPackage p(R"(["produce"])");
    RecordingServices services;
    auto plugin = p.load(&services);
    const auto refused = [&](std::string_view code, std::string_view why) {
        INFO(code);
        const std::string out = run(*plugin, code);
        CHECK_THAT(out, Catch::StartsWith("error: "));
        CHECK_THAT(out, Catch::Contains(std::string{why}));
    };
    refused(R"(adashta.produce(42, 1))", "the queue must be a string");
    refused(R"(adashta.produce("bad queue!", 1))", "is not a queue name");
    refused(R"(adashta.produce("q"))", "the data is missing");
    refused(R"(adashta.produce("q", 1, { too = "s1" }))", "too is not an option (to, user, toServer, session, delayMs)");
    refused(R"(adashta.produce("q", 1, { to = 7 }))", "to must be a string");
    refused(R"(adashta.produce("q", 1, { delayMs = 1.5 }))", "delayMs must be a whole number");
    refused(R"(adashta.produce("q", 1, { delayMs = -1 }))", "delayMs is 0 to");
    refused(R"(adashta.produce("q", 1, { toServer = true, to = "s1" }))", "give one or the other");
    refused(R"(adashta.produce("q", 1, { session = "k" }))", "needs toServer = true");
    refused(R"(adashta.produce("q", function() end))", "cannot be sent as JSON");
    refused(R"(adashta.produce("q", string.rep("x", 1024 * 1024)))", "a plugin produces at most 1 MiB");
    std::lock_guard lock(services.mutex);
    CHECK(services.produced.empty());
}

TEST_CASE("a Lua plugin without the permission, or on an edge without services, is told what to do",
          "[lua][services]") {
    LuaPackage none("[]");
    RecordingServices services;
    auto plugin = none.load(&services);
    CHECK_THAT(run(*plugin, R"(adashta.produce("q", 1))"),
               Catch::Contains(R"(adashta.produce needs the "produce" permission: add it to "permissions" in adashta-plugin.json)"));
    CHECK_THAT(run(*plugin, R"(return adashta.state.get("k"))"),
               Catch::Contains(R"(adashta.state.get needs the "store" permission)"));
    CHECK_THAT(run(*plugin, R"(adashta.state.set("k", 1))"), Catch::Contains(R"(adashta.state.set needs the "store" permission)"));
    CHECK_THAT(run(*plugin, R"(adashta.state.keys())"), Catch::Contains(R"(adashta.state.keys needs the "store" permission)"));
    {
        std::lock_guard lock(services.mutex);
        CHECK(services.loads == 0);  // no permission: its state is not even read
    }
    LuaPackage both(R"(["produce","store"])");
    auto alone = both.load(nullptr);
    CHECK_THAT(run(*alone, R"(adashta.produce("q", 1))"), Catch::Contains("this edge gives plugins no services"));
    CHECK_THAT(run(*alone, R"(adashta.state.set("k", 1))"), Catch::Contains("this edge gives plugins no services"));
}

TEST_CASE("Lua state is read once at load, served from memory, and every change saved in order",
          "[lua][services]") {
    LuaPackage p(R"(["store"])", R"lua(
local count = adashta.state.get("count") or 0   -- the top level sees the state too
return { on_message = function(msg)
  local f = load(msg.data.code)
  local ok, r = pcall(f)
  return adashta.pass((ok and "ok: " or "error: ") .. tostring(r) .. " (count " .. count .. ")")
end })lua");
    RecordingServices services;
    services.state["counter"] = {{"count", "41"}, {"user:alice", R"({"seen":2,"tags":["a"]})"}, {"other", "true"}};
    auto plugin = p.load(&services);
    CHECK(run(*plugin, R"(return adashta.state.get("count"))") == R"(ok: 41 (count 41))");
    CHECK(run(*plugin, R"(return adashta.state.get("user:alice").tags[1])") == R"(ok: a (count 41))");
    CHECK(run(*plugin, R"(return adashta.state.get("missing"))") == R"(ok: nil (count 41))");
    // What get returns is a copy: changing it saves nothing.
    CHECK(run(*plugin, R"(local v = adashta.state.get("user:alice"); v.seen = 99; return adashta.state.get("user:alice").seen)") ==
          R"(ok: 2 (count 41))");
    CHECK(run(*plugin, R"(adashta.state.set("count", adashta.state.get("count") + 1); return adashta.state.get("count"))") ==
          R"(ok: 42 (count 41))");
    CHECK(run(*plugin, R"(adashta.state.set("user:bob", { seen = 1 }); adashta.state.set("user:alice", nil))") ==
          R"(ok: nil (count 41))");
    CHECK(run(*plugin, R"(adashta.state.delete("other"); adashta.state.delete("never-there"))") ==
          R"(ok: nil (count 41))");
    CHECK(run(*plugin, R"(return adashta.json.encode(adashta.state.keys("user:")))") ==
          R"(ok: ["user:bob"] (count 41))");
    CHECK(run(*plugin, R"(return adashta.json.encode(adashta.state.keys("none:")))") ==
          R"(ok: [] (count 41))");
    CHECK(run(*plugin, R"(return table.concat(adashta.state.keys(), ","))") ==
          R"(ok: count,user:bob (count 41))");

    std::lock_guard lock(services.mutex);
    CHECK(services.loads == 1);
    REQUIRE(services.saves.size() == 4);  // deleting a key that is not there saves nothing
    CHECK((services.saves[0].key == "count" && services.saves[0].value == "42"));
    CHECK((services.saves[1].key == "user:bob" && services.saves[1].value == R"({"seen":1})"));
    CHECK((services.saves[2].key == "user:alice" && !services.saves[2].value));
    CHECK((services.saves[3].key == "other" && !services.saves[3].value));
    for (const auto& save : services.saves) CHECK(save.plugin == "counter");
}

TEST_CASE("Lua state limits: key size, value size and keys per plugin, each error naming it",
          "[lua][services][limits]") {
    LuaPackage p(R"(["store"])");
    RecordingServices services;
    auto plugin = p.load(&services);
    CHECK_THAT(run(*plugin, R"(adashta.state.set("", 1))"), Catch::Contains("a key is 1 to 256 bytes, not 0"));
    CHECK_THAT(run(*plugin, R"(adashta.state.set(string.rep("k", 257), 1))"), Catch::Contains("a key is 1 to 256 bytes, not 257"));
    CHECK(run(*plugin, R"(adashta.state.set(string.rep("k", 256), 1))") == R"(ok: nil)");
    CHECK_THAT(run(*plugin, R"(adashta.state.get(5))"), Catch::Contains("the key must be a string"));
    // 64 KiB of JSON at most: a string of 65534 characters is 65536 with its quotes.
    CHECK(run(*plugin, R"(adashta.state.set("big", string.rep("x", 65534)))") == R"(ok: nil)");
    CHECK_THAT(run(*plugin, R"(adashta.state.set("big", string.rep("x", 65535)))"),
               Catch::Contains("a value is at most 64 KiB of JSON, this one is 65537 bytes"));
    CHECK_THAT(run(*plugin, R"(adashta.state.set("f", function() end))"), Catch::Contains("cannot be sent as JSON"));
    // 10,000 keys (with the two above), then one more is refused; replacing one is not.
    CHECK(run(*plugin, R"(for i = 1, 9998 do adashta.state.set("n" .. i, i) end)") == R"(ok: nil)");
    CHECK_THAT(run(*plugin, R"(adashta.state.set("one-more", 1))"),
               Catch::Contains("the plugin holds 10000 keys, the most a plugin may: delete some first"));
    CHECK(run(*plugin, R"(adashta.state.set("n1", "changed"); return #adashta.state.keys())") == R"(ok: 10000)");
    CHECK(run(*plugin, R"(adashta.state.delete("n2"); adashta.state.set("one-more", 1); return #adashta.state.keys())") ==
          R"(ok: 10000)");
}

TEST_CASE("a Lua plugin whose state cannot be read does not load, and says why", "[lua][services]") {
    struct Broken : RecordingServices {
        Result<std::vector<std::pair<std::string, std::string>>> load_state(const std::string&) override {
            return make_error(Errc::storage_failed, "disk I/O error");
        }
    } services;
    LuaPackage p(R"(["store"])");
    auto m = read_manifest(p.dir.path);
    REQUIRE(m);
    auto plugin = LuaPlugin::load(*m, "", &services);
    REQUIRE_FALSE(plugin);
    CHECK(plugin.error().code == Errc::bad_plugin);
    CHECK_THAT(plugin.error().detail, Catch::Contains("its state could not be read from the edge's store"));
    CHECK_THAT(plugin.error().detail, Catch::Contains("disk I/O error"));
}
