#include <catch2/catch.hpp>

#include <fstream>

#include "adashta/plugins/plugin_set.hpp"
#include "plugin_folder.hpp"

using namespace adashta;
using namespace adashta::plugins;

namespace {

// An edge's config folder with a plugins folder beside it.
struct EdgeFolder {
    adashta::test::TempDir dir;
    std::filesystem::path plugins = dir.path / "plugins";
    std::string config = (dir.path / "adashta.json").string();

    void install(const std::string& name, std::string_view main, std::string_view extra = "") const {
        const auto folder = plugins / name;
        std::filesystem::create_directories(folder);
        std::ofstream(folder / "main.lua") << main;
        std::ofstream(folder / "adashta-plugin.json")
            << R"({"name":")" << name
            << R"(","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"])" << extra << "}";
    }
    void write_config(std::string_view text) const { std::ofstream(config) << text; }
    Result<std::unique_ptr<Chain>> load() const {
        auto entries = read_plugin_entries(config);
        if (!entries) return entries.error();
        return load_chain(*entries, plugins);
    }
};

}  // namespace

TEST_CASE("the config's plugins load in their order, installed or from a folder", "[plugin-set]") {
    EdgeFolder e;
    e.install("first", "return { on_message = function(msg) end }");
    e.install("second", "return { on_message = function(msg) end }");
    std::filesystem::create_directories(e.dir.path / "dev");
    std::filesystem::rename(e.plugins / "second", e.dir.path / "dev" / "second");
    e.write_config(R"({"plugins": [
        {"name": "first", "queues": ["chat.*"], "config": {"x": 1}},
        {"path": "dev/second"}]})");
    auto chain = e.load();
    REQUIRE(chain);
    REQUIRE((*chain)->size() == 2);
    CHECK((*chain)->stats(0).name == "first");
    CHECK((*chain)->stats(1).name == "second");
    CHECK((*chain)->runs(Hook::on_message, "chat.room1"));
    CHECK((*chain)->runs(Hook::on_message, "news"));  // second runs for every queue
}

TEST_CASE("a config without plugins gives an empty chain", "[plugin-set]") {
    EdgeFolder e;
    e.write_config(R"({"http": "127.0.0.1:8080"})");
    auto chain = e.load();
    REQUIRE(chain);
    CHECK((*chain)->size() == 0);
    CHECK_FALSE((*chain)->runs(Hook::on_message, "chat"));
}

TEST_CASE("a wrong plugins entry names the file and the key", "[plugin-set]") {
    EdgeFolder e;
    e.install("shout", "return { on_message = function(msg) end }",
              R"(,"configSchema":{"type":"object","properties":{"level":{"type":"integer","maximum":3}}})");
    e.install("js-one", "", "");
    std::ofstream(e.plugins / "js-one" / "adashta-plugin.json")
        << R"({"name":"js-one","version":"1.0.0","runtime":"js","entry":"main.lua","hooks":["on_message"]})";
    struct Case {
        const char* config;
        const char* says;
    };
    const Case cases[] = {
        {R"({"plugins": {"name": "shout"}})", "adashta.json: plugins: expected an array"},
        {R"({"plugins": [{"nam": "shout"}]})", "plugins[0].nam: is not a plugin entry key"},
        {R"({"plugins": [{}]})", "plugins[0]: give either \"name\""},
        {R"({"plugins": [{"name": "shout", "queues": "chat"}]})", "plugins[0].queues: expected an array"},
        {R"({"plugins": [{"name": "shout", "config": 3}]})", "plugins[0].config: expected an object"},
        {R"({"plugins": [{"name": "missing"}]})", "no plugin \"missing\" in"},
        {R"({"plugins": [{"name": "missing"}]})", "adashta plugin install missing"},
        {R"({"plugins": [{"name": "shout"}, {"name": "shout"}]})", "plugins[1]: plugin \"shout\" is listed twice"},
        {R"({"plugins": [{"name": "shout", "config": {"level": 9}}]})", "plugins[0].config/level: is above the schema's maximum"},
        {R"({"plugins": [{"name": "js-one"}]})", "is JavaScript, and this edge has no plugin host"},
    };
    for (const auto& c : cases) {
        INFO(c.config);
        e.write_config(c.config);
        auto chain = e.load();
        REQUIRE_FALSE(chain);
        CHECK_THAT(chain.error().detail, Catch::Contains(c.says));
        CHECK_THAT(chain.error().detail, Catch::Contains("adashta.json"));
    }
}

TEST_CASE("a plugin that does not load is refused naming its entry", "[plugin-set]") {
    EdgeFolder e;
    e.install("broken", "return { on_message = ");
    e.write_config(R"({"plugins": [{"name": "broken"}]})");
    auto chain = e.load();
    REQUIRE_FALSE(chain);
    CHECK(chain.error().code == Errc::bad_plugin);
    CHECK_THAT(chain.error().detail, Catch::Contains("plugins[0]") && Catch::Contains("broken/main.lua:1"));
}
