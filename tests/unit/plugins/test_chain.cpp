#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "adashta/plugins/chain.hpp"
#include "adashta/plugins/lua_runner.hpp"
#include "plugin_folder.hpp"

using namespace adashta;
using namespace adashta::plugins;
using adashta::test::PluginFolder;

namespace {

// Lua plugins in temporary folders, loaded on runner threads.
struct Plugins {
    std::vector<std::unique_ptr<PluginFolder>> folders;
    ChainLink add(const std::string& name, std::string_view main, std::string_view extra = "",
                  std::vector<std::string> queues = {}, std::string_view hooks = R"(["on_message"])") {
        auto& f = *folders.emplace_back(std::make_unique<PluginFolder>());
        f.write("main.lua", main);
        f.manifest(R"({"name":")" + name +
                   R"(","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":)" +
                   std::string{hooks} + std::string{extra} + "}");
        auto m = read_manifest(f.dir.path);
        REQUIRE(m);
        auto runner = LuaRunner::start(*m, "");
        if (!runner) FAIL(runner.error().to_string());
        return ChainLink{std::move(*runner), std::move(queues)};
    }
};

// Collects verdicts from the plugin threads and waits for them.
struct Verdicts {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::pair<Verdict, std::string>> got;
    Chain::Done collect() {
        return [this](Verdict v, std::string who) {
            std::lock_guard lock(mutex);
            got.emplace_back(std::move(v), std::move(who));
            cv.notify_all();
        };
    }
    bool wait_for(std::size_t n) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, std::chrono::seconds(20), [&] { return got.size() >= n; });
    }
};

CallText message(std::string data, std::string queue = "chat") {
    return CallText{Hook::on_message, R"({"queue":")" + queue + R"("})", std::move(data), "{}"};
}

constexpr std::string_view kAppend = R"(
  return { on_message = function(msg)
    msg.data.seen = (msg.data.seen or "") .. adashta.name
    return adashta.pass(msg.data)
  end })";

}  // namespace

TEST_CASE("the chain runs its plugins in the configured order, each seeing the last one's data",
          "[chain]") {
    Plugins p;
    std::vector<ChainLink> links;
    links.push_back(p.add("a", kAppend));
    links.push_back(p.add("b", kAppend));
    links.push_back(p.add("c", kAppend, "", {"news"}));  // not for chat
    Chain chain(std::move(links));
    CHECK(chain.runs(Hook::on_message, "chat"));
    CHECK_FALSE(chain.runs(Hook::on_deliver, "chat"));
    Verdicts v;
    chain.run(Hook::on_message, "chat", message("{}"), v.collect());
    REQUIRE(v.wait_for(1));
    CHECK(v.got[0].first.kind == Verdict::Kind::pass);
    CHECK(v.got[0].first.data == R"({"seen":"ab"})");
    CHECK(chain.stats(2).calls == 0);
}

TEST_CASE("data one plugin changed is the verdict's when the last plugin passes it unchanged",
          "[chain]") {
    Plugins p;
    std::vector<ChainLink> links;
    links.push_back(p.add("a", kAppend));
    // The last plugin (it takes the call's texts, not a copy) sees the subject, the changed
    // data and the client, and passes without a change.
    links.push_back(p.add("b", R"(return { on_message = function(msg, client)
        if msg.queue ~= "chat" or msg.data.seen ~= "a" or client.user ~= "u1" then
          return adashta.reject("saw " .. tostring(msg.queue) .. " " .. tostring(msg.data.seen) .. " " ..
                                tostring(client.user))
        end end })"));
    links.push_back(p.add("c", kAppend, "", {"news"}));  // not for chat
    Chain chain(std::move(links));
    Verdicts v;
    for (int i = 0; i < 3; ++i)
        chain.run(Hook::on_message, "chat", CallText{Hook::on_message, R"({"queue":"chat"})", "{}", R"({"user":"u1"})"},
                  v.collect());
    REQUIRE(v.wait_for(3));
    std::lock_guard lock(v.mutex);
    for (const auto& [verdict, who] : v.got) {
        INFO(verdict.reason);
        CHECK(verdict.kind == Verdict::Kind::pass);
        CHECK(verdict.data == R"({"seen":"a"})");
    }
    CHECK(chain.stats(1).calls == 3);
    CHECK(chain.stats(1).changed == 0);
}

TEST_CASE("a drop ends the walk and names the plugin", "[chain]") {
    Plugins p;
    std::vector<ChainLink> links;
    links.push_back(p.add("filter", R"(return { on_message = function(msg)
        if msg.data.bad then return adashta.drop("bad word") end end })"));
    links.push_back(p.add("after", kAppend));
    Chain chain(std::move(links));
    Verdicts v;
    chain.run(Hook::on_message, "chat", message(R"({"bad":true})"), v.collect());
    chain.run(Hook::on_message, "chat", message(R"({"bad":false})"), v.collect());
    REQUIRE(v.wait_for(2));
    std::lock_guard lock(v.mutex);
    const auto& dropped = v.got[0].first.kind == Verdict::Kind::drop ? v.got[0] : v.got[1];
    const auto& passed = v.got[0].first.kind == Verdict::Kind::drop ? v.got[1] : v.got[0];
    CHECK(dropped.first.reason == "bad word");
    CHECK(dropped.second == "filter");
    REQUIRE(passed.first.data);
    CHECK_THAT(*passed.first.data, Catch::Contains(R"("bad":false)") && Catch::Contains(R"("seen":"after")"));
    CHECK(chain.stats(1).calls == 1);
    CHECK(chain.stats(0).dropped == 1);
}

TEST_CASE("what passes leaves the chain in the order it came", "[chain]") {
    Plugins p;
    std::vector<ChainLink> links;
    // The first plugin is slow on every seventh message, the second drops every fifth.
    links.push_back(p.add("slow", R"(return { on_message = function(msg)
        if msg.data.n % 7 == 0 then local t = os.clock() while os.clock() - t < 0.002 do end end
        return adashta.pass(msg.data) end })",
                          R"(,"limits":{"callMs":1000})"));
    links.push_back(p.add("drops", R"(return { on_message = function(msg)
        if msg.data.n % 5 == 0 then return adashta.drop("fifth") end end })"));
    Chain chain(std::move(links));
    Verdicts v;
    constexpr int kMessages = 500;
    for (int n = 1; n <= kMessages; ++n)
        chain.run(Hook::on_message, "chat", message(R"({"n":)" + std::to_string(n) + "}"), v.collect());
    REQUIRE(v.wait_for(kMessages));
    std::lock_guard lock(v.mutex);
    std::vector<int> passed;
    for (const auto& [verdict, who] : v.got)
        if (verdict.kind == Verdict::Kind::pass) passed.push_back(std::stoi(verdict.data->substr(5)));
    REQUIRE(passed.size() == kMessages - kMessages / 5);
    CHECK(std::is_sorted(passed.begin(), passed.end()));
}

TEST_CASE("a failing plugin gets its policy, and is disabled after failing in a row", "[chain]") {
    Plugins p;
    std::vector<ChainLink> links;
    links.push_back(p.add("broken-open", "return { on_message = function(msg) error('boom') end }"));
    links.push_back(p.add("broken-closed", R"(return { on_message = function(msg)
        if msg.data.fail then error('boom') end end })",
                          R"(,"failure":"closed")"));
    Chain chain(std::move(links), ChainOptions{.disable_after = 3});
    Verdicts v;
    chain.run(Hook::on_message, "chat", message(R"({"fail":false})"), v.collect());
    REQUIRE(v.wait_for(1));
    CHECK(v.got[0].first.kind == Verdict::Kind::pass);  // open: passed by the first
    chain.run(Hook::on_message, "chat", message(R"({"fail":true})"), v.collect());
    REQUIRE(v.wait_for(2));
    CHECK(v.got[1].first.kind == Verdict::Kind::reject);  // closed: refused by the second
    CHECK(v.got[1].second == "broken-closed");
    CHECK(chain.stats(0).failures[0] == 2);
    CHECK_FALSE(chain.stats(0).disabled);
    chain.run(Hook::on_message, "chat", message(R"({"fail":false})"), v.collect());
    REQUIRE(v.wait_for(3));
    CHECK(chain.stats(0).disabled);  // the third failure in a row
    CHECK_FALSE(chain.stats(1).disabled);
    // Disabled: not called any more, the policy still applies.
    chain.run(Hook::on_message, "chat", message(R"({"fail":false})"), v.collect());
    REQUIRE(v.wait_for(4));
    CHECK(v.got[3].first.kind == Verdict::Kind::pass);
    CHECK(chain.stats(0).failures[0] == 3);
    CHECK_THAT(chain.metrics(), Catch::Contains("adashta_plugin_disabled{plugin=\"broken-open\"} 1") &&
                                    Catch::Contains("adashta_plugin_failures_total{plugin=\"broken-closed\",reason=\"error\"} 1"));
}

TEST_CASE("a slow plugin delays only the queues it handles", "[chain]") {
    Plugins p;
    std::vector<ChainLink> links;
    links.push_back(p.add("slow", R"(return { on_message = function(msg)
        local t = os.clock() while os.clock() - t < 0.3 do end end })",
                          R"(,"limits":{"callMs":5000})", {"slow"}));
    links.push_back(p.add("fast", "return { on_message = function(msg) end }", "", {"fast"}));
    Chain chain(std::move(links));
    Verdicts v;
    chain.run(Hook::on_message, "slow", message("{}", "slow"), v.collect());
    chain.run(Hook::on_message, "fast", message("{}", "fast"), v.collect());
    REQUIRE(v.wait_for(2));
    std::lock_guard lock(v.mutex);
    CHECK(chain.stats(1).calls == 1);
    // The fast queue's verdict came first, while the slow plugin was still busy.
    CHECK_FALSE(v.got[0].first.data.has_value());
    CHECK(chain.stats(0).calls == 1);
}

TEST_CASE("a route call goes to the one plugin named and counts in its stats", "[chain][routes]") {
    Plugins plugins;
    std::vector<ChainLink> links;
    links.push_back(plugins.add("first", kAppend));
    links.push_back(plugins.add("second", R"(
      return { on_message = function(msg) end,
               on_http = function(req) if req.path == "/bad" then error("bad") end
                                       return { body = adashta.name .. req.path } end })",
                                R"(,"permissions":["routes"])", {}, R"(["on_message","on_http"])"));
    Chain chain(std::move(links));
    CHECK(chain.find("first"));
    REQUIRE(chain.find("second"));
    CHECK(chain.find("second")->manifest().name == "second");
    CHECK_FALSE(chain.find("third"));

    std::mutex mutex;
    std::condition_variable cv;
    std::vector<Outcome> got;
    const auto collect = [&](Outcome out) {
        std::lock_guard lock(mutex);
        got.push_back(std::move(out));
        cv.notify_all();
    };
    const auto request = [](std::string path) {
        return CallText{Hook::on_http, R"({"method":"GET","path":")" + path + R"(","query":{},"headers":{},"body":""})", "", ""};
    };
    REQUIRE(chain.call_one("second", request("/x"), collect));
    REQUIRE(chain.call_one("second", request("/bad"), collect));
    CHECK_FALSE(chain.call_one("third", request("/x"), collect));
    {
        std::unique_lock lock(mutex);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return got.size() == 2; }));
    }
    REQUIRE(got[0].verdict.data);
    CHECK_THAT(*got[0].verdict.data, Catch::Contains(R"("body":"second/x")"));
    CHECK(got[1].failure == Failure::error);
    CHECK(chain.stats(1).calls == 2);
    CHECK(chain.stats(1).failures[0] == 1);
    CHECK(chain.stats(1).in_flight == 0);
    CHECK(chain.stats(0).calls == 0);
}
