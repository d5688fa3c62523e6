#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include "adashta/plugins/lua_plugin.hpp"
#include "plugin_folder.hpp"

using namespace adashta;
using namespace adashta::plugins;
using adashta::test::PluginFolder;

namespace {

// A package with main.lua as its entry and the given hooks.
struct LuaPackage : PluginFolder {
    explicit LuaPackage(std::string_view main, std::string_view hooks = R"(["on_message"])",
                        std::string_view extra = "") {
        write("main.lua", main);
        manifest(std::string{R"({"name":"test","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":)"} +
                 std::string{hooks} + std::string{extra} + "}");
    }
    std::unique_ptr<LuaPlugin> load(std::string_view config = "") const {
        auto m = read_manifest(dir.path);
        REQUIRE(m);
        auto plugin = LuaPlugin::load(*m, config);
        if (!plugin) FAIL(plugin.error().to_string());
        return std::move(*plugin);
    }
    Error refused(std::string_view config = "") const {
        auto m = read_manifest(dir.path);
        REQUIRE(m);
        auto plugin = LuaPlugin::load(*m, config);
        REQUIRE_FALSE(plugin);
        return plugin.error();
    }
};

Outcome on_message(LuaPlugin& plugin, std::string_view data,
                   std::string_view subject = R"({"queue":"chat","id":"m1"})") {
    return plugin.call({Hook::on_message, subject, data, R"({"session":"s1","user":"alice"})"});
}

// Evaluates Lua code inside the sandbox, as a plugin's own code would run it.
constexpr std::string_view kEvaluator = R"(
return { on_message = function(msg)
  local f, err = load(msg.data.code)
  if not f then return adashta.pass({ ok = false, r = err }) end
  local ok, r = pcall(f)
  return adashta.pass({ ok = ok, r = tostring(r) })
end })";

std::string evaluate(LuaPlugin& plugin, std::string_view code) {
    std::string data = R"({"code":)";
    data += '"';
    for (char c : code) {
        if (c == '"' || c == '\\') data += '\\';
        data += c;
    }
    data += "\"}";
    const Outcome out = on_message(plugin, data);
    if (out.failure != Failure::none) return "failed: " + out.error;
    return out.verdict.data.value_or("unchanged");
}

}  // namespace

TEST_CASE("a Lua hook changes the data and JSON survives the round trip exactly", "[lua]") {
    LuaPackage p(R"(
      return { on_message = function(msg, client)
        msg.data.text = string.upper(msg.data.text) .. " from " .. client.user
        msg.data.queue = msg.queue
        return adashta.pass(msg.data)
      end })");
    auto plugin = p.load();
    const Outcome out =
        on_message(*plugin, R"({"text":"hi","big":9007199254740993,"list":[],"obj":{},"none":null,
                                "count":{"n":3},"packed":[{"n":1}]})");
    REQUIRE(out.failure == Failure::none);
    CHECK(out.verdict.kind == Verdict::Kind::pass);
    REQUIRE(out.verdict.data);
    const std::string& data = *out.verdict.data;
    CHECK_THAT(data, Catch::Contains(R"("text":"HI from alice")"));
    CHECK_THAT(data, Catch::Contains(R"("queue":"chat")"));
    CHECK_THAT(data, Catch::Contains(R"("big":9007199254740993)"));  // no float on the way
    CHECK_THAT(data, Catch::Contains(R"("list":[])"));
    CHECK_THAT(data, Catch::Contains(R"("obj":{})"));
    CHECK_THAT(data, Catch::Contains(R"("none":null)"));
    // dkjson alone would make {"n":3} the array [null,null,null] (table.pack's shape).
    CHECK_THAT(data, Catch::Contains(R"("count":{"n":3})"));
    CHECK_THAT(data, Catch::Contains(R"("packed":[{"n":1}])"));
}

TEST_CASE("a table the plugin makes with only an n is sent as an object", "[lua]") {
    LuaPackage p("return { on_message = function(msg) return adashta.pass({ n = 2, list = { 1, 2 } }) end }");
    auto plugin = p.load();
    const Outcome out = on_message(*plugin, "{}");
    REQUIRE(out.verdict.data);
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("list":[1,2])"));
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("n":2)"));
    const Outcome only_n =
        LuaPackage("return { on_message = function(msg) return adashta.pass({ n = 2 }) end }")
            .load()
            ->call({Hook::on_message, "{}", "{}", "{}"});
    CHECK(only_n.verdict.data == R"({"n":2})");
}

TEST_CASE("a hook that returns nothing passes the data as it came, without decoding it", "[lua]") {
    LuaPackage p("return { on_message = function(msg) local q = msg.queue end }");
    auto plugin = p.load();
    const Outcome out = on_message(*plugin, "[1, 2,");  // never read, so never decoded
    CHECK(out.failure == Failure::none);
    CHECK(out.verdict.kind == Verdict::Kind::pass);
    CHECK_FALSE(out.verdict.data);
}

TEST_CASE("msg and client, filled when first read, look whole to pairs, JSON and later calls",
          "[lua]") {
    LuaPackage p(R"(
      local kept = {}
      return { on_message = function(msg, client)
        kept[#kept + 1] = { msg = msg, client = client }
        if #kept == 1 then return end   -- the first call reads nothing of them
        local first = kept[1]
        -- Unread, msg and client look empty to next() and rawget(), and so to the
        -- iterator pairs() hands out.
        local iter = pairs(first.msg)
        local unseen = tostring(next(msg)) .. "," .. tostring(rawget(msg, "queue")) .. "," ..
                       tostring(iter(client))
        local keys = {}
        for k in pairs(first.msg) do keys[#keys + 1] = k end
        table.sort(keys)
        if pcall(setmetatable, msg, nil) then return adashta.reject("msg's filling was taken away") end
        msg.mark = "set before any read"  -- a write first: the fields still come
        return adashta.pass({
          keys = table.concat(keys, ","),
          whole = adashta.json.encode({ m = first.msg, c = first.client }),
          queue = msg.queue, mark = msg.mark, role = client.claims.role, user = client.user,
          unseen = unseen,
        })
      end })");
    auto plugin = p.load();
    const std::string client = R"({"session":"s1","user":null,"claims":{"role":"admin"}})";
    REQUIRE(plugin->call({Hook::on_message, R"({"queue":"chat","id":"m1"})", R"({"n":1})", client}).failure ==
            Failure::none);
    const Outcome out = plugin->call({Hook::on_message, R"({"queue":"news","id":"m2"})", "{}", client});
    REQUIRE(out.failure == Failure::none);
    REQUIRE(out.verdict.data);
    const std::string& data = *out.verdict.data;
    CHECK_THAT(data, Catch::Contains(R"("keys":"data,id,queue")"));
    CHECK_THAT(data, Catch::Contains(R"(\"m\":{)"));
    CHECK_THAT(data, Catch::Contains(R"(\"queue\":\"chat\")"));
    CHECK_THAT(data, Catch::Contains(R"(\"data\":{\"n\":1})"));
    CHECK_THAT(data, Catch::Contains(R"(\"claims\":{\"role\":\"admin\"})"));
    CHECK_THAT(data, Catch::Contains(R"(\"user\":null)"));
    CHECK_THAT(data, Catch::Contains(R"("queue":"news")"));
    CHECK_THAT(data, Catch::Contains(R"("mark":"set before any read")"));
    CHECK_THAT(data, Catch::Contains(R"("role":"admin")"));
    CHECK_THAT(data, Catch::Contains(R"("user":null)"));  // JSON null: adashta.json.null
    CHECK_THAT(data, Catch::Contains(R"("unseen":"nil,nil,nil")"));
}

TEST_CASE("drop and reject carry their reason, and on_connect a close code", "[lua]") {
    LuaPackage p(R"(
      return {
        on_message = function(msg)
          if msg.data.spam then return adashta.drop("looks like spam") end
          return adashta.reject("no shouting")
        end,
        on_connect = function(client)
          if client.origin ~= "https://app.example" then return adashta.reject("wrong site", 4403) end
        end,
      })",
                 R"(["on_message","on_connect"])");
    auto plugin = p.load();
    Outcome out = on_message(*plugin, R"({"spam":true})");
    CHECK(out.verdict.kind == Verdict::Kind::drop);
    CHECK(out.verdict.reason == "looks like spam");
    out = on_message(*plugin, R"({"spam":false})");
    CHECK(out.verdict.kind == Verdict::Kind::reject);
    CHECK(out.verdict.reason == "no shouting");
    CHECK(out.verdict.close_code == 0);
    out = plugin->call({Hook::on_connect, R"({"origin":"https://evil.example"})", "", ""});
    CHECK(out.verdict.kind == Verdict::Kind::reject);
    CHECK(out.verdict.close_code == 4403);
    out = plugin->call({Hook::on_connect, R"({"origin":"https://app.example"})", "", ""});
    CHECK(out.verdict.kind == Verdict::Kind::pass);
}

TEST_CASE("a hook's error or wrong return is a failure that names the file and line", "[lua]") {
    LuaPackage p(R"(
      return { on_message = function(msg)
        if msg.data.n == 1 then return 42 end
        if msg.data.n == 2 then return adashta.pass(function() end) end
        local t = nil
        return t.field
      end })");
    auto plugin = p.load();
    Outcome out = on_message(*plugin, R"({"n":1})");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("on_message returned a number: return adashta.pass(data)"));
    out = on_message(*plugin, R"({"n":2})");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("cannot be sent as JSON"));
    out = on_message(*plugin, R"({"n":3})");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("test/main.lua:6:"));
    // The state is still usable.
    out = on_message(*plugin, R"({"n":1})");
    CHECK(out.failure == Failure::error);
}

TEST_CASE("the failure policy turns a failure into pass or a refusal", "[lua]") {
    Manifest open;
    open.name = "a";
    Manifest closed = open;
    closed.failure = FailurePolicy::closed;
    Outcome failed;
    failed.failure = Failure::time;
    CHECK(apply_policy(open, failed).kind == Verdict::Kind::pass);
    CHECK_FALSE(apply_policy(open, failed).data);
    CHECK(apply_policy(closed, failed).kind == Verdict::Kind::reject);
}

TEST_CASE("an endless loop is stopped at the call's time limit, even inside pcall", "[lua][limits]") {
    LuaPackage p(R"(
      return { on_message = function(msg)
        if msg.data.how == "plain" then while true do end end
        if msg.data.how == "pcall" then
          while true do pcall(function() while true do end end) end
        end
        if msg.data.how == "xpcall" then
          while true do xpcall(function() while true do end end, function(e) return e end) end
        end
        if msg.data.how == "coroutine" then
          while true do coroutine.resume(coroutine.create(function() while true do end end)) end
        end
        return adashta.pass("done")
      end })",
                 R"(["on_message"])", R"(,"limits":{"callMs":30})");
    auto plugin = p.load();
    for (const char* how : {"plain", "pcall", "xpcall", "coroutine"}) {
        INFO(how);
        const auto start = std::chrono::steady_clock::now();
        const Outcome out = on_message(*plugin, std::string{R"({"how":")"} + how + "\"}");
        const auto took = std::chrono::steady_clock::now() - start;
        CHECK(out.failure == Failure::time);
        CHECK_THAT(out.error, Catch::Contains("30 ms limit"));
        // Generous: a loaded CI machine, sanitizers. The integration test holds the 100 ms.
        CHECK(took < std::chrono::seconds(2));
    }
    const Outcome out = on_message(*plugin, R"({"how":"none"})");
    CHECK(out.failure == Failure::none);
    CHECK(out.verdict.data == "\"done\"");
}

TEST_CASE("a memory bomb is stopped at the cap and the state recovers", "[lua][limits]") {
    LuaPackage p(R"(
      local kept = {}
      return { on_message = function(msg)
        if msg.data.how == "string" then
          local s = "x"
          while true do s = s .. s end
        end
        if msg.data.how == "table" then
          local t = {}
          while true do t[#t + 1] = { 1, 2, 3, 4 } end
        end
        if msg.data.how == "caught" then
          while true do pcall(function() kept[#kept + 1] = string.rep("y", 1 << 20) end) end
        end
        if msg.data.how == "rep" then return adashta.pass(#string.rep("z", 1 << 30)) end
        if msg.data.how == "buffer" then
          local t = {}
          for i = 1, 1e9 do t[i] = string.rep("w", 1 << 20) .. i end
        end
        kept = {}
        collectgarbage()
        return adashta.pass(collectgarbage("count") < 4096)
      end })",
                 R"(["on_message"])", R"(,"limits":{"memoryMB":8,"callMs":2000})");
    auto plugin = p.load();
    for (const char* how : {"string", "table", "caught", "rep", "buffer"}) {
        INFO(how);
        const Outcome out = on_message(*plugin, std::string{R"({"how":")"} + how + "\"}");
        CHECK(out.failure == Failure::memory);
        CHECK_THAT(out.error, Catch::Contains("8 MiB memory limit"));
        CHECK(plugin->memory_used() <= (8u << 20) + (1u << 20));
    }
    const Outcome out = on_message(*plugin, R"({"how":"none"})");
    CHECK(out.failure == Failure::none);
    CHECK(out.verdict.data == "true");
}

TEST_CASE("the Lua sandbox refuses every way out", "[lua][sandbox]") {
    LuaPackage p(kEvaluator);
    p.write("secret/notes.lua", "return 'inside'");
    std::filesystem::create_directories(p.dir.path / "..");
    auto plugin = p.load();
    struct Attempt {
        const char* code;
        const char* gives;
    };
    const Attempt attempts[] = {
        {"return io", R"("r":"nil")"},
        {"return os.execute", R"("r":"nil")"},
        {"return os.getenv", R"("r":"nil")"},
        {"return os.exit", R"("r":"nil")"},
        {"return os.remove", R"("r":"nil")"},
        {"return debug", R"("r":"nil")"},
        {"return package", R"("r":"nil")"},
        {"return dofile", R"("r":"nil")"},
        {"return loadfile", R"("r":"nil")"},
        {"return string.dump", R"("r":"nil")"},
        {"return ('').dump", R"("r":"nil")"},
        {"return getmetatable('')", R"("r":"false")"},
        {"return rawget(_G, 'io')", R"("r":"nil")"},
        {"return require('os')", "module 'os' not found"},
        {"return require('io')", "module 'io' not found"},
        {"return require('cjson')", "C modules and system libraries are not available"},
        {"return require('..passwd')", "a module name is letters"},
        {"return require('secret.notes')", R"("r":"inside")"},
        {"return select(2, load(string.char(27) .. 'Lua'))", "attempt to load a binary chunk"},
        {"return load('return 1', 'x', 'b')", "only text chunks"},
        {"return load('return io')()", R"("r":"nil")"},
        {"return collectgarbage('stop')", "may only"},
        {"return setmetatable({}, { __gc = function() end })", "__gc finalizers are not available"},
        {"return coroutine.wrap(function() return io end)()", R"("r":"nil")"},
    };
    for (const auto& a : attempts) {
        INFO(a.code);
        CHECK_THAT(evaluate(*plugin, a.code), Catch::Contains(a.gives));
    }
}

TEST_CASE("require reads no file outside the plugin's folder, links included", "[lua][sandbox]") {
    adashta::test::TempDir outside;
    {
        std::ofstream(outside.path / "evil.lua") << "return 'outside'";
    }
    LuaPackage p(kEvaluator);
    std::filesystem::create_symlink(outside.path / "evil.lua", p.dir.path / "evil.lua");
    auto plugin = p.load();
    CHECK_THAT(evaluate(*plugin, "return require('evil')"), Catch::Contains("not found"));
}

TEST_CASE("the config reaches the plugin as adashta.config", "[lua]") {
    LuaPackage p(R"(
      local greeting = adashta.config.greeting
      return { on_message = function(msg) return adashta.pass(greeting .. " " .. adashta.name) end })");
    auto plugin = p.load(R"({"greeting":"hello"})");
    CHECK(on_message(*plugin, "1").verdict.data == "\"hello test\"");
}

TEST_CASE("an entry that cannot load is refused with the file, the line and what to change",
          "[lua]") {
    SECTION("a syntax error") {
        LuaPackage p("return { on_message = function(msg) end");
        CHECK_THAT(p.refused().detail, Catch::Contains("test/main.lua:1:"));
    }
    SECTION("no table of hooks") {
        LuaPackage p("return 7");
        CHECK_THAT(p.refused().detail, Catch::Contains("must return a table of its hooks"));
    }
    SECTION("a hook the manifest names but the entry lacks") {
        LuaPackage p("return { on_message = function() end }", R"(["on_message","on_deliver"])");
        CHECK_THAT(p.refused().detail, Catch::Contains("the manifest names hook on_deliver"));
    }
    SECTION("an endless top level") {
        LuaPackage p("while true do end", R"(["on_message"])", R"(,"limits":{"callMs":20})");
        CHECK_THAT(p.refused().detail, Catch::Contains("ran past its 20 ms limit"));
    }
    SECTION("a config that is not JSON") {
        LuaPackage p("return { on_message = function() end }");
        CHECK(p.refused("{").code == Errc::bad_plugin);
    }
}

TEST_CASE("JSON from Lua: arrays marked or sequences, objects otherwise, and what cannot be JSON",
          "[lua][json]") {
    LuaPackage p(kEvaluator);
    auto plugin = p.load();
    struct Case {
        const char* code;
        const char* gives;
    };
    const Case cases[] = {
        {"return adashta.json.encode({})", R"("r":"{}")"},
        {"return adashta.json.encode(adashta.json.array({}))", R"("r":"[]")"},
        {"return adashta.json.encode({ 1, 2, 3 })", R"("r":"[1,2,3]")"},
        {"return adashta.json.encode({ [1] = 'a', [3] = 'b' })", R"(\"1\":\"a\")"},
        {"return adashta.json.encode(adashta.json.null)", R"("r":"null")"},
        {"return adashta.json.encode({ x = 0.5, y = math.maxinteger })", R"(9223372036854775807)"},
        {"return adashta.json.encode(0/0)", "NaN and infinity are not JSON numbers"},
        {"return adashta.json.encode('\\255')", "not valid UTF-8"},
        {"return adashta.json.encode({ f = print })", "only tables, strings, numbers"},
        {"local t = {} t.t = t return adashta.json.encode(t)", "nested too deep"},
        {"return adashta.json.encode(adashta.json.decode('[[],{},null,1.5,-7]'))", R"("r":"[[],{},null,1.5,-7]")"},
        {"return adashta.json.decode(string.rep('[', 100) .. string.rep(']', 100))", "nested deeper than 64"},
        {"return adashta.json.decode('{\\\"a\\\":}')", "not JSON"},
    };
    for (const auto& c : cases) {
        INFO(c.code);
        CHECK_THAT(evaluate(*plugin, c.code), Catch::Contains(c.gives));
    }
}

namespace {

constexpr std::string_view kRequest =
    R"({"method":"POST","path":"/echo","query":{"n":"2"},"headers":{"content-type":"application/json"},"body":"{\"a\":1}"})";

Outcome on_http(LuaPlugin& plugin, std::string_view request = kRequest) {
    return plugin.call({Hook::on_http, request, {}, {}});
}

}  // namespace

TEST_CASE("a Lua on_http hook answers with a status, headers and a body", "[lua][routes]") {
    LuaPackage p(R"(
      return { on_http = function(req)
        if req.path == "/none" then return end
        if req.path == "/text" then return { body = "plain" } end
        local got = adashta.json.decode(req.body)
        return { status = 201, headers = { ["X-Seen"] = req.method .. " " .. req.query.n .. " " ..
                 req.headers["content-type"] }, body = { a = got.a + 1 } }
      end })",
                 R"(["on_http"])", R"(,"permissions":["routes"])");
    auto plugin = p.load();
    Outcome out = on_http(*plugin);
    REQUIRE(out.failure == Failure::none);
    CHECK(out.verdict.kind == Verdict::Kind::pass);
    REQUIRE(out.verdict.data);
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("status":201)"));
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("x-seen":"POST 2 application/json")"));
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("content-type":"application/json")"));
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("body":"{\"a\":2}")"));

    out = on_http(*plugin, R"({"method":"GET","path":"/text","query":{},"headers":{},"body":""})");
    REQUIRE(out.verdict.data);
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("status":200)") && Catch::Contains(R"("body":"plain")"));

    // Nothing returned: no data, which the edge answers 404.
    out = on_http(*plugin, R"({"method":"GET","path":"/none","query":{},"headers":{},"body":""})");
    CHECK(out.failure == Failure::none);
    CHECK_FALSE(out.verdict.data);
}

TEST_CASE("a Lua on_http that errs, returns a wrong answer or runs too long fails", "[lua][routes]") {
    LuaPackage p(R"(
      return { on_http = function(req)
        if req.path == "/error" then error("no such thing") end
        if req.path == "/status" then return { status = 99 } end
        if req.path == "/verdict" then return adashta.pass({}) end
        if req.path == "/header" then return { headers = { x = {} } } end
        while true do end
      end })",
                 R"(["on_http"])", R"(,"permissions":["routes"],"limits":{"callMs":20})");
    auto plugin = p.load();
    const auto at = [&](std::string_view path) {
        return on_http(*plugin, R"({"method":"GET","path":")" + std::string{path} +
                                    R"(","query":{},"headers":{},"body":""})");
    };
    Outcome out = at("/error");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("test/main.lua:3: no such thing"));
    out = at("/status");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("status must be an integer from 200 to 599"));
    CHECK_THAT(at("/verdict").error, Catch::Contains("on_http returned a verdict"));
    CHECK_THAT(at("/header").error, Catch::Contains("header x must be a string"));
    CHECK(at("/loop").failure == Failure::time);
    // The state serves the next call.
    CHECK(at("/error").failure == Failure::error);
}
