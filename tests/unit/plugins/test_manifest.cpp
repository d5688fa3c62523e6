#include <catch2/catch.hpp>

#include "adashta/plugins/manifest.hpp"
#include "plugin_folder.hpp"

using namespace adashta;
using namespace adashta::plugins;
using adashta::test::PluginFolder;

namespace {

std::string detail_of(const Result<Manifest>& m) { return m ? "" : m.error().detail; }

const char* const kMinimal =
    R"({"name":"shout","version":"1.2.3","runtime":"lua","entry":"main.lua","hooks":["on_message"]})";

}  // namespace

TEST_CASE("a manifest with what is required reads with defaults for the rest", "[manifest]") {
    PluginFolder p;
    p.write("main.lua", "return {}");
    p.manifest(kMinimal);
    auto m = read_manifest(p.dir.path);
    REQUIRE(m);
    CHECK(m->name == "shout");
    CHECK(m->version == "1.2.3");
    CHECK(m->runtime == Runtime::lua);
    CHECK(m->entry == "main.lua");
    CHECK(m->has_hook(Hook::on_message));
    CHECK_FALSE(m->has_hook(Hook::on_connect));
    CHECK(m->failure == FailurePolicy::open);
    CHECK(m->limits.memory_bytes == 16u << 20);
    CHECK(m->limits.call_ms == 50);
    CHECK(m->queues.empty());
    CHECK(m->config_schema.empty());
}

TEST_CASE("every manifest key is read", "[manifest]") {
    PluginFolder p;
    p.write("src/init.lua", "return {}");
    p.write("public/chart.js", "");
    p.manifest(R"({"name":"live-charts","version":"0.1.0-beta.2","description":"charts",
      "runtime":"js","entry":"src/init.lua","hooks":["on_connect","on_deliver"],
      "queues":["metrics.*","cpu"],"failure":"closed","permissions":["produce","store"],
      "limits":{"memoryMB":64,"callMs":200},"assets":"public",
      "configSchema":{"type":"object","properties":{"points":{"type":"integer"}}}})");
    auto m = read_manifest(p.dir.path);
    REQUIRE(m);
    CHECK(m->runtime == Runtime::js);
    CHECK(m->hooks == std::vector<Hook>{Hook::on_connect, Hook::on_deliver});
    CHECK(m->queues == std::vector<std::string>{"metrics.*", "cpu"});
    CHECK(m->failure == FailurePolicy::closed);
    CHECK(m->may(Permission::produce));
    CHECK(m->may(Permission::store));
    CHECK_FALSE(m->may(Permission::http));
    CHECK(m->limits.memory_bytes == 64u << 20);
    CHECK(m->limits.call_ms == 200);
    CHECK(m->assets == "public");
    CHECK(m->config_schema.find("points") != std::string::npos);
}

TEST_CASE("a manifest that is wrong is refused naming the file and the key", "[manifest]") {
    PluginFolder p;
    p.write("main.lua", "return {}");
    const auto path = (p.dir.path / "adashta-plugin.json").string();
    struct Case {
        const char* text;
        const char* says;
    };
    const Case cases[] = {
        {R"({"name":"shout")", "is not a JSON object"},
        {R"({"version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"]})",
         "\"name\": is missing"},
        {R"({"name":"Shout!","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"]})",
         "\"name\": \"Shout!\" must be"},
        {R"({"name":"shout","version":"1.0","runtime":"lua","entry":"main.lua","hooks":["on_message"]})",
         "\"version\": \"1.0\" must be MAJOR.MINOR.PATCH"},
        {R"({"name":"shout","version":"1.0.0","runtime":"python","entry":"main.lua","hooks":["on_message"]})",
         "\"runtime\": must be \"lua\" or \"js\""},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"../main.lua","hooks":["on_message"]})",
         "\"entry\": \"../main.lua\" must be a relative path inside the package"},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"other.lua","hooks":["on_message"]})",
         "\"entry\": \"other.lua\" is not a file"},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_mesage"]})",
         "\"hooks\"[0]: \"on_mesage\" is not a hook"},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":[]})",
         "\"hooks\": must name at least one hook"},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"],"hook":1})",
         "\"hook\": is not a manifest key"},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"],"failure":"maybe"})",
         "\"failure\": must be \"open\""},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"],"permissions":["disk"]})",
         "\"permissions\"[0]: \"disk\" is not a permission"},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"],"limits":{"callMs":0}})",
         "\"limits\".\"callMs\": must be a whole number"},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"],"configSchema":[]})",
         "\"configSchema\": must be a JSON Schema object"},
        {R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_http"]})",
         "\"hooks\": names on_http, which serves HTTP routes under /plugins/shout/: add \"routes\" to \"permissions\""},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        p.manifest(c.text);
        auto m = read_manifest(p.dir.path);
        REQUIRE_FALSE(m);
        CHECK(m.error().code == Errc::bad_plugin);
        CHECK_THAT(detail_of(m), Catch::Contains(path) && Catch::Contains(c.says));
    }
}

TEST_CASE("a folder without a manifest says where the manifest goes", "[manifest]") {
    PluginFolder p;
    auto m = read_manifest(p.dir.path);
    REQUIRE_FALSE(m);
    CHECK_THAT(m.error().to_string(), Catch::Contains("adashta-plugin.json: cannot be read") &&
                                          Catch::Contains("docs/plugins.md"));
}

TEST_CASE("a plugin's config is checked against its manifest's schema", "[manifest][schema]") {
    PluginFolder p;
    p.write("main.lua", "return {}");
    p.manifest(R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"],
      "configSchema":{"type":"object","required":["port"],"additionalProperties":false,
        "properties":{"port":{"type":"integer","minimum":1,"maximum":65535},
                      "mode":{"enum":["loud","quiet"]}}}})");
    auto m = read_manifest(p.dir.path);
    REQUIRE(m);
    const std::string_view where = "adashta.json: plugins[0].config";
    CHECK(check_config(*m, R"({"port":8080,"mode":"loud"})", where));
    struct Case {
        const char* config;
        const char* says;
    };
    const Case cases[] = {
        {R"({"port":70000})", "plugins[0].config/port: is above the schema's maximum"},
        {R"({"port":"80"})", "plugins[0].config/port: has the wrong type"},
        {R"({"mode":"loud"})", "lacks a member the schema requires"},
        {R"({"port":80,"mode":"shout"})", "plugins[0].config/mode: is not one of the values"},
        {R"({"port":80,"colour":"red"})", "has a member the schema does not allow"},
        {R"([1])", "must be a JSON object"},
    };
    for (const auto& c : cases) {
        INFO(c.config);
        auto ok = check_config(*m, c.config, where);
        REQUIRE_FALSE(ok);
        CHECK(ok.error().code == Errc::bad_plugin);
        CHECK_THAT(ok.error().detail, Catch::StartsWith("adashta.json: plugins[0].config") &&
                                          Catch::Contains(c.says));
    }
}

TEST_CASE("a plugin without a schema takes any config object", "[manifest][schema]") {
    PluginFolder p;
    p.write("main.lua", "return {}");
    p.manifest(kMinimal);
    auto m = read_manifest(p.dir.path);
    REQUIRE(m);
    CHECK(check_config(*m, "", "x"));
    CHECK(check_config(*m, R"({"anything":[1,2]})", "x"));
    CHECK_FALSE(check_config(*m, "7", "x"));
}

TEST_CASE("schemas combine with oneOf, patterns and references inside the schema", "[manifest][schema]") {
    PluginFolder p;
    p.write("main.lua", "return {}");
    p.manifest(R"({"name":"hooks","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"],
      "configSchema":{"definitions":{"url":{"type":"string","pattern":"^https?://"}},
        "type":"object","properties":{"target":{"$ref":"#/definitions/url"},
          "retry":{"oneOf":[{"type":"integer"},{"enum":["never"]}]}}}})");
    auto m = read_manifest(p.dir.path);
    REQUIRE(m);
    CHECK(check_config(*m, R"({"target":"https://example.test/hook","retry":3})", "c"));
    CHECK(check_config(*m, R"({"retry":"never"})", "c"));
    auto bad = check_config(*m, R"({"target":"ftp://x"})", "c");
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().detail, Catch::Contains("c/target: does not match the schema's pattern"));
    CHECK_FALSE(check_config(*m, R"({"retry":"often"})", "c"));
}

TEST_CASE("on_http is a hook for a plugin with the routes permission", "[manifest]") {
    PluginFolder p;
    p.write("main.lua", "return {}");
    p.manifest(R"({"name":"shout","version":"1.0.0","runtime":"lua","entry":"main.lua",
                   "hooks":["on_http"],"permissions":["routes"]})");
    auto m = read_manifest(p.dir.path);
    REQUIRE(m);
    CHECK(m->has_hook(Hook::on_http));
    CHECK(hook_name(Hook::on_http) == "on_http");
}
