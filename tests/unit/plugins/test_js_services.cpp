// adashta.produce and adashta.state in a JavaScript plugin, through a real plugin host,
// against a recording PluginServices.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <future>
#include <string>

#include "adashta/json.hpp"
#include "adashta/plugins/js_host.hpp"
#include "plugin_folder.hpp"
#include "recording_services.hpp"

using namespace adashta;
using namespace adashta::plugins;
using adashta::test::PluginFolder;
using adashta::test::RecordingServices;
using namespace std::chrono_literals;

namespace {

// Runs msg.data.code (an async function body) and answers "ok: R" or "error: CODE: MESSAGE".
// A message "loop" runs forever (the time limit's test).
constexpr std::string_view kEvaluator = R"js(
const AsyncFunction = (async () => {}).constructor;
export async function on_message(msg) {
  if (msg.data.code === 'loop') for (;;) {}
  try {
    const r = await new AsyncFunction(msg.data.code)();
    return adashta.pass(`ok: ${typeof r === 'object' ? JSON.stringify(r) : String(r)}`);
  } catch (e) {
    return adashta.pass(`error: ${e?.code ?? 'no code'}: ${e?.message ?? e}`);
  }
})js";

struct JsPackage : PluginFolder {
    explicit JsPackage(std::string_view permissions, std::string_view call_ms = "5000") {
        write("index.mjs", kEvaluator);
        manifest(std::string{R"({"name":"counter","version":"1.0.0","runtime":"js","entry":"index.mjs",)"
                             R"("hooks":["on_message"],"limits":{"callMs":)"} +
                 std::string{call_ms} + R"(},"permissions":)" + std::string{permissions} + "}");
    }
    Manifest read() const {
        auto m = read_manifest(dir.path);
        REQUIRE(m);
        return *m;
    }
};

std::unique_ptr<JsHost> start_host() {
    auto host = JsHost::start({});
    if (!host) FAIL(host.error().to_string());
    return std::move(*host);
}

std::unique_ptr<JsPlugin> load(JsHost& host, const JsPackage& p, PluginServices* services) {
    auto plugin = host.load(p.read(), "", services);
    if (!plugin) FAIL(plugin.error().to_string());
    return std::move(*plugin);
}

std::string quoted(std::string_view code) { return json::quote(code); }

// What the code returned ("ok: ...") or threw ("error: CODE: ..."), or "failed: ...".
std::string run(PluginInstance& plugin, std::string_view code) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto future = promise->get_future();
    plugin.call({Hook::on_message, R"({"queue":"chat","id":"m1"})", R"({"code":)" + quoted(code) + "}", ""},
                [promise](Outcome out) { promise->set_value(std::move(out)); });
    REQUIRE(future.wait_for(30s) == std::future_status::ready);
    const Outcome out = future.get();
    if (out.failure != Failure::none) return "failed: " + out.error;
    if (!out.verdict.data) return "unchanged";
    return json::unquote(*out.verdict.data).value_or("not a string: " + *out.verdict.data);
}

}  // namespace

TEST_CASE("a JavaScript plugin's produce resolves once stored and rejects with the error's code",
          "[js][services]") {
    JsPackage p(R"(["produce"])");
    RecordingServices services;
    auto host = start_host();
    auto plugin = load(*host, p, &services);
    CHECK(run(*plugin, R"(return await adashta.produce('room.lobby', { here: 3 }))") == "ok: undefined");
    CHECK(run(*plugin, R"(await adashta.produce('room.lobby', 'hi', { to: 's-42', delayMs: 250 }); return 'stored')") ==
          "ok: stored");
    CHECK(run(*plugin, R"(adashta.produce('jobs', [1, 2], { toServer: true, session: 'k' }); return 'sent')") ==
          "ok: sent");
    CHECK(run(*plugin, R"(await adashta.produce('news', null, { user: 'alice' }))") == "ok: undefined");
    services.refuse = make_error(Errc::storage_full, "the disk is full");
    CHECK(run(*plugin, R"(await adashta.produce('room.lobby', 1))") ==
          "error: storage_full: adashta.produce: the disk is full");

    std::lock_guard lock(services.mutex);
    REQUIRE(services.produced.size() == 5);
    CHECK(services.produced[0].plugin == "counter");
    CHECK(services.produced[0].queue == "room.lobby");
    CHECK(services.produced[0].data == R"({"here":3})");
    CHECK(services.produced[1].data == R"("hi")");
    CHECK(services.produced[1].to == "s-42");
    CHECK(services.produced[1].delay_ms == 250);
    CHECK(services.produced[2].data == "[1,2]");
    CHECK(services.produced[2].to_server);
    CHECK(services.produced[2].session == "k");
    CHECK(services.produced[3].data == "null");
    CHECK(services.produced[3].user == "alice");
}

TEST_CASE("a JavaScript plugin's produce throws at once on arguments it cannot take", "[js][services]") {
    JsPackage p(R"(["produce"])");
    RecordingServices services;
    auto host = start_host();
    auto plugin = load(*host, p, &services);
    const auto refused = [&](std::string_view code, std::string_view why) {
        INFO(code);
        const std::string out = run(*plugin, code);
        CHECK_THAT(out, Catch::StartsWith("error: "));
        CHECK_THAT(out, Catch::Contains(std::string{why}));
    };
    refused("adashta.produce(42, 1)", "bad_queue: adashta.produce: the queue \"42\" is not a queue name");
    refused("adashta.produce('bad queue!', 1)", "is not a queue name");
    refused("adashta.produce('q', undefined)", "bad_data: adashta.produce: the data cannot be sent as JSON");
    refused("adashta.produce('q', 1, { too: 's1' })", "bad_option: adashta.produce: too is not an option");
    refused("adashta.produce('q', 1, { to: 7 })", "to must be a string");
    refused("adashta.produce('q', 1, { delayMs: 1.5 })", "bad_timeout: adashta.produce: delayMs is 0 to");
    refused("adashta.produce('q', 1, { toServer: true, to: 's1' })", "give one or the other");
    refused("adashta.produce('q', 1, { session: 'k' })", "needs toServer: true");
    refused("adashta.produce('q', 'x'.repeat(1024 * 1024))", "message_too_large: adashta.produce: the data is 1048578 bytes");
    std::lock_guard lock(services.mutex);
    CHECK(services.produced.empty());
}

TEST_CASE("a JavaScript plugin without the permission, or on an edge without services, is told what to do",
          "[js][services]") {
    auto host = start_host();
    RecordingServices services;
    JsPackage none("[]");
    auto plugin = load(*host, none, &services);
    CHECK(run(*plugin, "adashta.produce('q', 1)") ==
          R"(error: not_allowed: adashta.produce needs the "produce" permission: add it to "permissions" in adashta-plugin.json)");
    CHECK_THAT(run(*plugin, "adashta.state.get('k')"), Catch::Contains(R"(adashta.state.get needs the "store" permission)"));
    CHECK_THAT(run(*plugin, "adashta.state.set('k', 1)"), Catch::Contains(R"(adashta.state.set needs the "store" permission)"));
    {
        std::lock_guard lock(services.mutex);
        CHECK(services.loads == 0);
    }
    JsPackage both(R"(["produce","store"])");
    auto alone = load(*host, both, nullptr);
    CHECK_THAT(run(*alone, "adashta.produce('q', 1)"), Catch::Contains("this edge gives plugins no services"));
    CHECK_THAT(run(*alone, "adashta.state.keys()"), Catch::Contains("this edge gives plugins no services"));
}

TEST_CASE("JavaScript state: a synchronous copy, every change saved in order, and its limits",
          "[js][services]") {
    JsPackage p(R"(["store"])");
    RecordingServices services;
    services.state["counter"] = {{"count", "41"}, {"user:alice", R"({"seen":2})"}};
    auto host = start_host();
    auto plugin = load(*host, p, &services);
    CHECK(run(*plugin, "return adashta.state.get('count')") == "ok: 41");
    CHECK(run(*plugin, "return adashta.state.get('missing')") == "ok: undefined");
    CHECK(run(*plugin, "const v = adashta.state.get('user:alice'); v.seen = 99; return adashta.state.get('user:alice')") ==
          R"(ok: {"seen":2})");
    CHECK(run(*plugin, "adashta.state.set('count', adashta.state.get('count') + 1); return adashta.state.get('count')") ==
          "ok: 42");
    CHECK(run(*plugin, "adashta.state.set('user:bob', { seen: 1 }); adashta.state.set('user:alice', undefined)") ==
          "ok: undefined");
    CHECK(run(*plugin, "adashta.state.delete('count'); adashta.state.delete('never-there'); return adashta.state.keys()") ==
          R"(ok: ["user:bob"])");
    CHECK(run(*plugin, "return adashta.state.keys('none:')") == "ok: []");
    // Limits, each error naming it.
    CHECK(run(*plugin, "adashta.state.set('k'.repeat(257), 1)") ==
          "error: bad_option: adashta.state.set: a key is 1 to 256 bytes, not 257");
    CHECK(run(*plugin, "adashta.state.set('big', 'x'.repeat(65535))") ==
          "error: bad_option: adashta.state.set: a value is at most 64 KiB of JSON, this one is 65537 bytes: "
          "keep large data in messages, or split it over keys");
    CHECK(run(*plugin, "adashta.state.set('big', 'x'.repeat(65534)); return adashta.state.keys().length") == "ok: 2");
    CHECK(run(*plugin, "for (let i = 0; i < 9998; i++) adashta.state.set(`n${i}`, i); return adashta.state.keys().length") ==
          "ok: 10000");
    CHECK(run(*plugin, "adashta.state.set('one-more', 1)") ==
          "error: bad_option: adashta.state.set: the plugin holds 10000 keys, the most a plugin may: delete some "
          "first (adashta.state.delete)");
    CHECK(run(*plugin, "adashta.state.set('n0', 'changed'); return adashta.state.get('n0')") == "ok: changed");

    REQUIRE(services.wait_for([&] { return services.saves.size() == 4 + 1 + 9998 + 1; }));
    std::lock_guard lock(services.mutex);
    CHECK(services.loads == 1);
    CHECK((services.saves[0].key == "count" && services.saves[0].value == "42"));
    CHECK((services.saves[1].key == "user:bob" && services.saves[1].value == R"({"seen":1})"));
    CHECK((services.saves[2].key == "user:alice" && !services.saves[2].value));
    CHECK((services.saves[3].key == "count" && !services.saves[3].value));
    CHECK(services.saves[4].key == "big");
    CHECK((services.saves.back().key == "n0" && services.saves.back().value == R"("changed")"));
    CHECK(services.state["counter"].size() == 10000);
}

TEST_CASE("JavaScript state survives a worker stopped at its time limit, from the host's copy",
          "[js][services][limits]") {
    JsPackage p(R"(["store"])", "300");
    RecordingServices services;
    auto host = start_host();
    auto plugin = load(*host, p, &services);
    CHECK(run(*plugin, "adashta.state.set('count', 7); return adashta.state.get('count')") == "ok: 7");
    CHECK_THAT(run(*plugin, "loop"), Catch::Contains("stopped after its 300 ms limit"));
    CHECK(run(*plugin, "return adashta.state.get('count')") == "ok: 7");
    std::lock_guard lock(services.mutex);
    CHECK(services.loads == 1);  // the worker's restart did not ask the edge
}

TEST_CASE("JavaScript state survives kill -9 of the host: the new one loads it again", "[js][services][host]") {
    JsPackage p(R"(["store","produce"])");
    RecordingServices services;
    auto host = start_host();
    auto plugin = load(*host, p, &services);
    CHECK(run(*plugin, "adashta.state.set('count', 7); adashta.state.set('gone', 1); adashta.state.delete('gone')") ==
          "ok: undefined");
    const pid_t first = host->pid();
    REQUIRE(kill(first, SIGKILL) == 0);
    CHECK(run(*plugin, "return adashta.state.keys().map((k) => `${k}=${adashta.state.get(k)}`)") ==
          R"(ok: ["count=7"])");
    CHECK(host->pid() != first);
    // Produce works in the new host, and answers reach it.
    CHECK(run(*plugin, "await adashta.produce('q', 1); return 'stored'") == "ok: stored");
    std::lock_guard lock(services.mutex);
    CHECK(services.loads == 2);
}
