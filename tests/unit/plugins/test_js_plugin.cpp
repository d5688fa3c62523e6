// JsHost and JsPlugin against a real plugin host: node running plugins/host/main.mjs.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "adashta/plugins/js_host.hpp"
#include "plugin_folder.hpp"

using namespace adashta;
using namespace adashta::plugins;
using adashta::test::PluginFolder;
using namespace std::chrono_literals;

namespace {

// A package with index.mjs as its entry and the given hooks. Without limits of its own it
// gets callMs 2000: a loaded test machine pauses a thread longer than the 50 ms default, and
// only the tests of the limits are about them.
struct JsPackage : PluginFolder {
    explicit JsPackage(std::string_view index, std::string_view hooks = R"(["on_message"])",
                       std::string_view extra = R"(,"limits":{"callMs":2000})") {
        write("index.mjs", index);
        manifest(std::string{R"({"name":"test","version":"1.0.0","runtime":"js","entry":"index.mjs","hooks":)"} +
                 std::string{hooks} + std::string{extra} + "}");
    }
    Manifest read() const {
        auto m = read_manifest(dir.path);
        REQUIRE(m);
        return *m;
    }
};

std::unique_ptr<JsHost> start_host(JsHost::Options options = {}) {
    auto host = JsHost::start(std::move(options));
    if (!host) FAIL(host.error().to_string());
    return std::move(*host);
}

std::unique_ptr<JsPlugin> load(JsHost& host, const JsPackage& p, std::string_view config = "") {
    auto plugin = host.load(p.read(), config);
    if (!plugin) FAIL(plugin.error().to_string());
    return std::move(*plugin);
}

Outcome call(PluginInstance& plugin, CallText c) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto future = promise->get_future();
    plugin.call(std::move(c), [promise](Outcome out) { promise->set_value(std::move(out)); });
    REQUIRE(future.wait_for(30s) == std::future_status::ready);
    return future.get();
}

Outcome on_message(PluginInstance& plugin, std::string data,
                   std::string subject = R"({"queue":"chat","id":"m1"})") {
    return call(plugin, {Hook::on_message, std::move(subject), std::move(data), R"({"session":"s1","user":"alice"})"});
}

std::string js_string(std::string_view code) {
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

// Runs JavaScript inside the sandbox as a plugin's own code (an async function body).
constexpr std::string_view kEvaluator = R"(
const AsyncFunction = (async () => {}).constructor;
export async function on_message(msg) {
  try {
    const r = await new AsyncFunction('folder', msg.data.code)(adashta.config.folder);
    return adashta.pass({ ok: true, r: String(r) });
  } catch (e) {
    return adashta.pass({ ok: false, r: String(e?.message ?? e) });
  }
})";

std::string evaluate(PluginInstance& plugin, std::string_view code) {
    const Outcome out = on_message(plugin, R"({"code":)" + js_string(code) + "}");
    if (out.failure != Failure::none) return "failed: " + out.error;
    return out.verdict.data.value_or("unchanged");
}

}  // namespace

TEST_CASE("a JavaScript hook changes the data, and data it does not change passes as it came", "[js]") {
    JsPackage p(R"(
      export function on_message(msg, client) {
        if (msg.data === undefined) return;
        if (msg.data.keep) return;
        return adashta.pass({ ...msg.data, text: msg.data.text.toUpperCase() + ' from ' + client.user, queue: msg.queue });
      })");
    auto host = start_host();
    CHECK_THAT(host->node_version(), Catch::StartsWith("v"));
    auto plugin = load(*host, p);
    Outcome out = on_message(*plugin, R"({"text":"hi","list":[],"obj":{},"none":null})");
    REQUIRE(out.failure == Failure::none);
    CHECK(out.verdict.kind == Verdict::Kind::pass);
    REQUIRE(out.verdict.data);
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("text":"HI from alice")"));
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("queue":"chat")"));
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("list":[],"obj":{},"none":null)"));
    // Unchanged: no data comes back, so the edge keeps the sender's exact text.
    out = on_message(*plugin, R"({"keep":true,"big":9007199254740993})");
    CHECK(out.failure == Failure::none);
    CHECK_FALSE(out.verdict.data);
}

TEST_CASE("a JavaScript hook that never reads the data never parses it, nor msg and client untouched", "[js]") {
    JsPackage p("export function on_message(msg) { const q = msg.queue; }");
    auto host = start_host();
    auto plugin = load(*host, p);
    const Outcome out = on_message(*plugin, "[1, 2,");
    CHECK(out.failure == Failure::none);
    CHECK_FALSE(out.verdict.data);
    // One that touches neither msg nor client parses neither (texts that are not JSON pass).
    JsPackage counter("let n = 0; export function on_message(msg, client) { n++; }");
    auto counting = load(*host, counter);
    const Outcome untouched = call(*counting, {Hook::on_message, "{not json", "[1,", "{nor this"});
    CHECK(untouched.failure == Failure::none);
    CHECK(untouched.verdict.kind == Verdict::Kind::pass);
}

TEST_CASE("JavaScript msg and client, filled when first touched, look whole to keys, spread, JSON and later calls",
          "[js]") {
    JsPackage p(R"(
      const kept = [];
      export function on_message(msg, client) {
        if (msg.queue === 'odd') {  // a "__proto__" key is a field, not the prototype
          return adashta.pass({ bad: client.bad ?? null, keys: Object.keys(client).join(',') });
        }
        kept.push({ msg, client });
        if (kept.length === 1) return;  // the first call touches nothing of them
        const first = kept[0];
        msg.mark = 'set before any read';  // a write first: the fields still come
        delete client.session;
        return adashta.pass({
          keys: Object.keys(first.msg).sort().join(','),
          spread: { ...first.client },
          whole: JSON.stringify({ m: first.msg }),
          has: 'id' in msg, queue: msg.queue, mark: msg.mark, role: client.claims.role,
          clientKeys: Object.keys(client).join(','),
          frozen: Object.isFrozen(Object.freeze(first.client)) && first.client.user === null,
          proto: Object.getPrototypeOf(msg) === Object.prototype,
        });
      })");
    auto host = start_host();
    auto plugin = load(*host, p);
    const std::string client = R"({"session":"s1","user":null,"claims":{"role":"admin"}})";
    REQUIRE(call(*plugin, {Hook::on_message, R"({"queue":"chat","id":"m1"})", R"({"n":1})", client}).failure ==
            Failure::none);
    const Outcome out = call(*plugin, {Hook::on_message, R"({"queue":"news","id":"m2"})", "{}", client});
    REQUIRE(out.failure == Failure::none);
    REQUIRE(out.verdict.data);
    const std::string& data = *out.verdict.data;
    CHECK_THAT(data, Catch::Contains(R"("keys":"data,id,queue")"));
    CHECK_THAT(data, Catch::Contains(R"("spread":{"session":"s1","user":null,"claims":{"role":"admin"}})"));
    CHECK_THAT(data, Catch::Contains(R"(\"queue\":\"chat\",\"id\":\"m1\",\"data\":{\"n\":1})"));
    CHECK_THAT(data, Catch::Contains(R"("has":true,"queue":"news","mark":"set before any read","role":"admin")"));
    CHECK_THAT(data, Catch::Contains(R"("clientKeys":"user,claims")"));
    CHECK_THAT(data, Catch::Contains(R"("frozen":true)"));
    CHECK_THAT(data, Catch::Contains(R"("proto":true)"));
    const Outcome odd =
        call(*plugin, {Hook::on_message, R"({"queue":"odd"})", "", R"({"__proto__":{"bad":1},"user":"u"})"});
    REQUIRE(odd.verdict.data);
    CHECK(*odd.verdict.data == R"({"bad":null,"keys":"__proto__,user"})");
}

TEST_CASE("JavaScript drop and reject carry their reason, and on_connect a close code", "[js]") {
    JsPackage p(R"(
      export default {
        on_message(msg) {
          if (msg.data.spam) return adashta.drop('looks like spam');
          return adashta.reject('no shouting');
        },
        async on_connect(client) {
          await new Promise((r) => setTimeout(r, 1));
          if (client.origin !== 'https://app.example') return adashta.reject('wrong site', 4403);
        },
      })",
                R"(["on_message","on_connect"])");
    auto host = start_host();
    auto plugin = load(*host, p);
    Outcome out = on_message(*plugin, R"({"spam":true})");
    CHECK(out.verdict.kind == Verdict::Kind::drop);
    CHECK(out.verdict.reason == "looks like spam");
    out = on_message(*plugin, R"({"spam":false})");
    CHECK(out.verdict.kind == Verdict::Kind::reject);
    CHECK(out.verdict.reason == "no shouting");
    CHECK(out.verdict.close_code == 0);
    out = call(*plugin, {Hook::on_connect, R"({"origin":"https://evil.example"})", "", ""});
    CHECK(out.verdict.kind == Verdict::Kind::reject);
    CHECK(out.verdict.close_code == 4403);
    out = call(*plugin, {Hook::on_connect, R"({"origin":"https://app.example"})", "", ""});
    CHECK(out.failure == Failure::none);
    CHECK(out.verdict.kind == Verdict::Kind::pass);
}

TEST_CASE("a JavaScript hook's error or wrong return is a failure that names the file and line", "[js]") {
    JsPackage p(R"(
      export function on_message(msg) {
        if (msg.data.n === 1) return 42;
        if (msg.data.n === 2) return adashta.pass(() => 1);
        const t = null;
        return t.field;
      })");
    auto host = start_host();
    auto plugin = load(*host, p);
    Outcome out = on_message(*plugin, R"({"n":1})");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("on_message returned a number: return adashta.pass(data)"));
    out = on_message(*plugin, R"({"n":2})");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("cannot be sent as JSON"));
    out = on_message(*plugin, R"({"n":3})");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("test/index.mjs:6:"));
    out = on_message(*plugin, R"({"n":1})");  // still served
    CHECK(out.failure == Failure::error);
}

TEST_CASE("a JavaScript endless loop is stopped at its limit and the next call is served", "[js][limits]") {
    JsPackage p(R"(
      let calls = 0;
      export async function on_message(msg) {
        calls++;
        if (msg.data.how === 'plain') for (;;);
        if (msg.data.how === 'caught') for (;;) { try { for (;;); } catch {} }
        if (msg.data.how === 'async') { await null; for (;;); }
        return adashta.pass({ calls });
      })",
                R"(["on_message"])", R"(,"limits":{"callMs":100})");
    auto host = start_host();
    auto plugin = load(*host, p);
    for (const char* how : {"plain", "caught", "async"}) {
        INFO(how);
        const auto start = std::chrono::steady_clock::now();
        const Outcome out = on_message(*plugin, std::string{R"({"how":")"} + how + "\"}");
        const auto took = std::chrono::steady_clock::now() - start;
        CHECK(out.failure == Failure::time);
        CHECK_THAT(out.error, Catch::Contains("100 ms limit (callMs)"));
        // Generous: a loaded machine, sanitizers. bench/ and the integration test measure it.
        CHECK(took < 5s);
    }
    // A new worker: the plugin's module state starts again.
    const Outcome out = on_message(*plugin, R"({"how":"none"})");
    CHECK(out.failure == Failure::none);
    CHECK(out.verdict.data == R"({"calls":1})");
}

TEST_CASE("a JavaScript memory bomb is stopped at its heap limit and the next call is served",
          "[js][limits]") {
    JsPackage p(R"(
      export function on_message(msg) {
        if (msg.data.how === 'array') { const a = []; for (;;) a.push({ a: 1, b: [1, 2, 3], s: 'x' + a.length }); }
        if (msg.data.how === 'arrays') { const keep = []; for (let i = 0; ; i++) keep.push(new Array(1 << 16).fill(i)); }
        return adashta.pass('fine');
      })",
                R"(["on_message"])", R"(,"limits":{"memoryMB":32,"callMs":10000})");
    auto host = start_host();
    auto plugin = load(*host, p);
    for (const char* how : {"array", "arrays"}) {
        INFO(how);
        const Outcome out = on_message(*plugin, std::string{R"({"how":")"} + how + "\"}");
        CHECK(out.failure == Failure::memory);
        CHECK_THAT(out.error, Catch::Contains("32 MiB memory limit (memoryMB)"));
    }
    const Outcome out = on_message(*plugin, R"({"how":"none"})");
    CHECK(out.failure == Failure::none);
    CHECK(out.verdict.data == "\"fine\"");
}

TEST_CASE("calls to a JavaScript plugin are answered in order, around a call that failed", "[js]") {
    JsPackage p(R"(
      export function on_message(msg) {
        if (msg.data.n === 50) for (;;);
        return adashta.pass(msg.data.n);
      })",
                R"(["on_message"])", R"(,"limits":{"callMs":1000})");
    auto host = start_host();
    auto plugin = load(*host, p);
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<int> order;
    constexpr int kCalls = 200;
    for (int i = 0; i < kCalls; ++i) {
        plugin->call({Hook::on_message, R"({"queue":"q"})", R"({"n":)" + std::to_string(i) + "}", ""},
                     [&, i](Outcome out) {
                         std::lock_guard lock(mutex);
                         if (i == 50) CHECK(out.failure == Failure::time);
                         else {
                             INFO(out.error << " " << failure_name(out.failure));
                             CHECK(out.verdict.data == std::to_string(i));
                         }
                         order.push_back(i);
                         cv.notify_all();
                     });
    }
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, 60s, [&] { return order.size() == kCalls; }));
    for (int i = 0; i < kCalls; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("kill -9 of the host mid-stream: every call answered exactly once, in order, none lost",
          "[js][host]") {
    // callMs far above a loaded machine's pauses: this is about the host's death, not limits.
    JsPackage p(R"(
      export function on_message(msg) { return adashta.pass(msg.data.n * 2); })",
                R"(["on_message"])", R"(,"limits":{"callMs":5000})");
    auto host = start_host();
    auto plugin = load(*host, p);
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<int> answered;  // call numbers, in the order answered
    int failed = 0;
    constexpr int kCalls = 3000;
    const auto submit = [&](int i) {
        plugin->call({Hook::on_message, R"({"queue":"q"})", R"({"n":)" + std::to_string(i) + "}", ""},
                     [&, i](Outcome out) {
                         std::lock_guard lock(mutex);
                         if (out.failure != Failure::none || out.verdict.data != std::to_string(2 * i)) {
                             ++failed;
                             UNSCOPED_INFO("call " << i << ": " << out.error);
                         }
                         answered.push_back(i);
                         cv.notify_all();
                     });
    };
    const pid_t first = host->pid();
    const int restarts = host->restarts();
    REQUIRE(first > 0);
    for (int i = 0; i < kCalls; ++i) {
        submit(i);
        if (i == kCalls / 3) REQUIRE(kill(first, SIGKILL) == 0);
        if (i % 100 == 0) std::this_thread::sleep_for(1ms);  // a stream, not one burst
    }
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, 60s, [&] { return answered.size() >= kCalls; }));
    lock.unlock();
    std::this_thread::sleep_for(100ms);  // an answer twice would come now
    lock.lock();
    CHECK(answered.size() == kCalls);
    CHECK(failed == 0);
    for (int i = 0; i < kCalls && i < static_cast<int>(answered.size()); ++i)
        if (answered[static_cast<std::size_t>(i)] != i) FAIL("answer " << i << " was call " << answered[static_cast<std::size_t>(i)]);
    CHECK(host->restarts() == restarts + 1);
    CHECK(host->pid() != first);
}

TEST_CASE("a host that does not come back fails the waiting calls after the bounded wait", "[js][host]") {
    // A copy of the host, removed once it runs: the next one cannot start.
    adashta::test::TempDir copy;
    std::filesystem::copy(default_host_script().parent_path(), copy.path / "host",
                          std::filesystem::copy_options::recursive);
    JsPackage p("export function on_message(msg) {}");
    JsHost::Options options;
    options.script = copy.path / "host" / "main.mjs";
    options.resend_wait = 300ms;
    auto host = start_host(options);
    auto plugin = load(*host, p);
    std::filesystem::remove_all(copy.path / "host");
    REQUIRE(kill(host->pid(), SIGKILL) == 0);
    const auto start = std::chrono::steady_clock::now();
    const Outcome out = on_message(*plugin, "1");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("was not back within 300 ms"));
    CHECK(std::chrono::steady_clock::now() - start < 10s);
}

TEST_CASE("a JavaScript plugin imports npm dependencies from its own node_modules", "[js]") {
    JsPackage p(R"(
      import pad from 'left-pad-cjs';
      import { shout } from 'shout-esm';
      export function on_message(msg) { return adashta.pass(shout(pad(msg.data, 5))); })");
    p.write("node_modules/left-pad-cjs/package.json", R"({"name":"left-pad-cjs","version":"1.0.0","main":"index.js"})");
    p.write("node_modules/left-pad-cjs/index.js",
            "const util = require('util'); module.exports = (s, n) => util.format('%s', s).padStart(n, '.');");
    p.write("node_modules/shout-esm/package.json",
            R"({"name":"shout-esm","version":"1.0.0","type":"module","exports":"./index.js"})");
    p.write("node_modules/shout-esm/index.js", "export const shout = (s) => s.toUpperCase() + '!';");
    auto host = start_host();
    auto plugin = load(*host, p);
    const Outcome out = on_message(*plugin, R"("ab")");
    REQUIRE(out.failure == Failure::none);
    CHECK(out.verdict.data == R"("...AB!")");
}

TEST_CASE("the config reaches a JavaScript plugin as adashta.config, and logs reach the edge's log",
          "[js]") {
    JsPackage p(R"(
      const { greeting } = adashta.config;
      console.log('loaded with', greeting);
      export function on_message(msg) {
        adashta.log('info', 'called');
        return adashta.pass(`${greeting} ${adashta.name} ${adashta.version}`);
      })");
    auto host = start_host();
    auto plugin = load(*host, p, R"({"greeting":"hello"})");
    CHECK(on_message(*plugin, "1").verdict.data == R"("hello test 1.0.0")");
}

TEST_CASE("a JavaScript plugin that cannot load is refused with the file and what to change", "[js]") {
    auto host = start_host();
    SECTION("a syntax error") {
        JsPackage p("export function on_message(msg) {");
        auto plugin = host->load(p.read(), "");
        REQUIRE_FALSE(plugin);
        CHECK(plugin.error().code == Errc::bad_plugin);
        CHECK_THAT(plugin.error().detail, Catch::Contains("index.mjs"));
    }
    SECTION("a hook the manifest names but the module lacks") {
        JsPackage p("export function on_message() {}", R"(["on_message","on_deliver"])");
        auto plugin = host->load(p.read(), "");
        REQUIRE_FALSE(plugin);
        CHECK_THAT(plugin.error().detail, Catch::Contains("the manifest names hook on_deliver"));
    }
    SECTION("an import the sandbox refuses") {
        JsPackage p("import { exec } from 'node:child_process'; export function on_message() {}");
        auto plugin = host->load(p.read(), "");
        REQUIRE_FALSE(plugin);
        CHECK_THAT(plugin.error().detail, Catch::Contains("module 'child_process' is not available to a plugin"));
    }
    SECTION("a top level that throws") {
        JsPackage p("throw new Error('no config'); export function on_message() {}");
        auto plugin = host->load(p.read(), "");
        REQUIRE_FALSE(plugin);
        CHECK_THAT(plugin.error().detail, Catch::Contains("no config"));
    }
}

TEST_CASE("the JavaScript sandbox refuses every way out", "[js][sandbox]") {
    adashta::test::TempDir outside;
    std::ofstream(outside.path / "evil.mjs") << "export const x = 'outside';";
    JsPackage p(kEvaluator);
    p.write("helper.cjs",
            "module.exports = { req: (n) => require(n), load: (n) => module.constructor._load(n),\n"
            "  register: () => module.constructor.register('data:text/javascript,export{}') };");
    auto host = start_host();
    auto plugin = load(*host, p, R"({"folder":)" + js_string(std::filesystem::canonical(p.dir.path).string()) + "}");
    const std::string evil = (outside.path / "evil.mjs").string();
    struct Attempt {
        std::string code;
        std::string gives;
    };
    const std::string refused = "is not available to a plugin";
    const std::string denied = "Access to this API has been restricted";
    const std::vector<Attempt> attempts = {
        // Files: the permission model reads only the host's and the plugins' folders, writes none.
        {"return (await import('node:fs')).readFileSync('/etc/passwd', 'utf8')", denied},
        {"return (await import('node:fs')).readFileSync('/proc/self/environ', 'utf8')", denied},
        {"return (await import('node:fs')).writeFileSync(folder + '/x.txt', 'a')", denied},
        {"return (await import('node:fs/promises')).readFile('/etc/hostname')", denied},
        {"return (await import('node:fs')).readFileSync(folder + '/helper.cjs', 'utf8').length > 0", R"("r":"true")"},
        // Descriptors it did not open: the host's pipe to the edge is one.
        {"return (await import('node:fs')).readSync(0, Buffer.alloc(8))", "descriptor 0 was not opened by this plugin"},
        {"return (await import('node:fs')).writeSync(1, 'forged')", "descriptor 1 was not opened by this plugin"},
        {"return (await import('node:fs')).createReadStream(null, { fd: 0 })", "descriptor 0 was not opened"},
        {"return new (await import('node:tty')).ReadStream(0)", "tty.ReadStream " + refused},
        // Processes.
        {"return (await import('node:child_process')).execSync('id')", "module 'child_process' " + refused},
        {"return (await import('node:cluster')).fork()", "module 'cluster' " + refused},
        {"return process.kill(process.pid, 'SIGKILL')", "process.kill " + refused},
        {"return process._kill(1, 9)", "process._kill " + refused},
        {"return process.binding('spawn_sync')", "process.binding " + refused},
        {"return process._linkedBinding('x')", "process._linkedBinding " + refused},
        {"return process.dlopen({}, '/lib/x86_64-linux-gnu/libc.so.6')", "process.dlopen " + refused},
        {"return process.getBuiltinModule('child_process')", "process.getBuiltinModule " + refused},
        {"return process.abort()", "process.abort " + refused},
        {"return process.exit(1)", "process.exit " + refused},
        {"return (await import('node:worker_threads')).Worker", "module 'worker_threads' " + refused},
        // Modules, bytecode and the debugger.
        {"return typeof require", R"("r":"undefined")"},
        {"return (await import('node:vm')).runInThisContext('1')", "module 'vm' " + refused},
        {"return (await import('node:v8')).setFlagsFromString('--allow-natives-syntax')", "module 'v8' " + refused},
        {"return (await import('node:module')).createRequire(folder)", "module 'module' " + refused},
        {"return (await import('node:inspector')).open()", "module 'inspector' " + refused},
        {"return (await import('node:wasi')).WASI", "module 'wasi' " + refused},
        {"return (await import('node:repl')).start", "module 'repl' " + refused},
        {"return (await import('node:trace_events')).createTracing", "module 'trace_events' " + refused},
        {"return process._debugProcess(process.pid)", "process._debugProcess"},
        {"return (await import('file://" + evil + "')).x", "a plugin imports only files inside its own folder"},
        {"return (await import('file:///etc/passwd')).x", "only files inside its own folder"},
        {"const h = await import('file://' + folder + '/helper.cjs'); return h.default.req('child_process')",
         "module 'child_process' " + refused},
        {"const h = await import('file://' + folder + '/helper.cjs'); return h.default.req('" + evil + "')",
         "requires only files inside its own folder"},
        {"const h = await import('file://' + folder + '/helper.cjs'); return h.default.load('node:net')",
         "needs the \\\"http\\\" permission"},
        {"const h = await import('file://' + folder + '/helper.cjs'); return h.default.register()",
         "module.register " + refused},
        {"const h = await import('file://' + folder + '/helper.cjs'); return h.default.req('fs').readSync(1)",
         "descriptor 1 was not opened"},
        {"return (await import('data:text/javascript,import \"node:child_process\"'))", "module 'child_process' " + refused},
        // The environment.
        {"return JSON.stringify(process.env)", R"("r":"{}")"},
        {"return process.report.getReport().environmentVariables", "reading 'getReport'"},
        {"return process.execArgv.length + process.argv.length", R"("r":"0")"},
        {"return (await import('node:os')).userInfo().username", "os.userInfo " + refused},
        {"return (await import('node:os')).homedir()", "os.homedir " + refused},
        {"return (await import('node:os')).networkInterfaces()", "os.networkInterfaces " + refused},
        // The network, without the http permission.
        {"return typeof fetch", R"("r":"undefined")"},
        {"return typeof BroadcastChannel", R"("r":"undefined")"},
        {"return (await import('node:net')).connect(80, '127.0.0.1')", "needs the \\\"http\\\" permission"},
        {"return (await import('node:http')).get('http://127.0.0.1/')", "needs the \\\"http\\\" permission"},
        {"return (await import('node:https')).get", "needs the \\\"http\\\" permission"},
        {"return (await import('node:dns')).lookup", "needs the \\\"http\\\" permission"},
        {"return (await import('node:dgram')).createSocket('udp4')", "module 'dgram' " + refused},
        // What stays: computation.
        {"return (await import('node:crypto')).createHash('sha256').update('a').digest('hex').slice(0, 8)",
         R"("r":"ca978112")"},
        {"return adashta.name", R"("r":"test")"},
    };
    for (const auto& a : attempts) {
        INFO(a.code);
        CHECK_THAT(evaluate(*plugin, a.code), Catch::Contains(a.gives));
    }
}

TEST_CASE("a JavaScript plugin with the http permission has the network", "[js][sandbox]") {
    JsPackage p(kEvaluator, R"(["on_message"])", R"(,"permissions":["http"],"limits":{"callMs":2000})");
    auto host = start_host();
    auto plugin = load(*host, p, R"({"folder":""})");
    CHECK_THAT(evaluate(*plugin, "return typeof fetch"), Catch::Contains(R"("r":"function")"));
    CHECK_THAT(evaluate(*plugin, "return typeof (await import('node:net')).connect"),
               Catch::Contains(R"("r":"function")"));
    // Still not processes.
    CHECK_THAT(evaluate(*plugin, "return (await import('node:child_process')).execSync('id')"),
               Catch::Contains("is not available to a plugin"));
}

TEST_CASE("two JavaScript plugins in one host, from two folders", "[js][host]") {
    JsPackage a("export function on_message() { return adashta.pass('a'); }");
    JsPackage b("export function on_message() { return adashta.pass('b'); }");
    JsHost::Options options;
    options.folders = {a.dir.path};
    auto host = start_host(options);
    auto pa = load(*host, a);
    CHECK(host->restarts() == 0);  // its folder was allowed from the start
    CHECK(on_message(*pa, "1").verdict.data == "\"a\"");
    auto pb = load(*host, b);  // a new folder: the host starts again to read it
    CHECK(on_message(*pb, "1").verdict.data == "\"b\"");
    CHECK(on_message(*pa, "1").verdict.data == "\"a\"");
}

TEST_CASE("the JavaScript template, with its name filled in, is a plugin that loads and works", "[js]") {
    const std::filesystem::path templates = default_host_script().parent_path().parent_path() / "templates" / "js";
    PluginFolder p;
    for (const char* file : {"adashta-plugin.json", "index.mjs", "README.md", "test/plugin.test.mjs"}) {
        std::ifstream in(templates / file);
        REQUIRE(in);
        std::string text{std::istreambuf_iterator<char>(in), {}};
        for (std::size_t at; (at = text.find("{{name}}")) != std::string::npos;) text.replace(at, 8, "my-plugin");
        // (A loaded test machine pauses longer than the template's 50 ms.)
        if (const auto at = text.find(R"("callMs": 50)"); at != std::string::npos) text.replace(at, 12, R"("callMs": 2000)");
        p.write(file, text);
    }
    auto m = read_manifest(p.dir.path);
    if (!m) FAIL(m.error().to_string());
    CHECK(m->name == "my-plugin");
    REQUIRE(check_config(*m, R"({"maxLength":5})", "test"));
    auto host = start_host();
    auto plugin = host->load(*m, R"({"maxLength":5})");
    if (!plugin) FAIL(plugin.error().to_string());
    CHECK(on_message(**plugin, R"({"text":" hi "})").verdict.data == R"({"text":"hi"})");
    CHECK(on_message(**plugin, R"({"text":"longer than five"})").verdict.kind == Verdict::Kind::reject);
}

TEST_CASE("a JavaScript plugin whose top level never ends is refused, and the host serves others",
          "[js][limits]") {
    JsPackage endless("for (;;); export function on_message() {}");
    JsPackage fine("export function on_message() { return adashta.pass('fine'); }");
    auto host = start_host();
    auto refused = host->load(endless.read(), "");
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().detail, Catch::Contains("its top level (with its imports) ran past 10 s"));
    auto plugin = load(*host, fine);
    CHECK(on_message(*plugin, "1").verdict.data == "\"fine\"");
}

TEST_CASE("a JavaScript on_http hook answers, async too, and fails like any hook", "[js][routes]") {
    JsPackage p(R"(
      export async function on_http(req) {
        if (req.path === '/none') return;
        if (req.path === '/error') throw new Error('no such thing');
        if (req.path === '/status') return { status: 700 };
        await new Promise((resolve) => setTimeout(resolve, 5));
        const got = JSON.parse(req.body);
        return { status: 201, headers: { 'X-Seen': `${req.method} ${req.query.n} ${req.headers['content-type']}` },
                 body: { a: got.a + 1 } };
      })",
                R"(["on_http"])", R"(,"permissions":["routes"],"limits":{"callMs":2000})");
    auto host = start_host();
    auto plugin = load(*host, p);
    const auto at = [&](std::string path, std::string body = "") {
        return call(*plugin, {Hook::on_http,
                              R"({"method":"POST","path":")" + path +
                                  R"(","query":{"n":"2"},"headers":{"content-type":"application/json"},"body":)" +
                                  js_string(body) + "}",
                              "", ""});
    };
    Outcome out = at("/echo", R"({"a":1})");
    REQUIRE(out.failure == Failure::none);
    REQUIRE(out.verdict.data);
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("status":201)"));
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("x-seen":"POST 2 application/json")"));
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("content-type":"application/json")"));
    CHECK_THAT(*out.verdict.data, Catch::Contains(R"("body":"{\"a\":2}")"));
    out = at("/none");
    CHECK(out.failure == Failure::none);
    CHECK_FALSE(out.verdict.data);
    out = at("/error");
    CHECK(out.failure == Failure::error);
    CHECK_THAT(out.error, Catch::Contains("no such thing") && Catch::Contains("index.mjs:4"));
    CHECK_THAT(at("/status").error, Catch::Contains("status must be an integer from 200 to 599"));
}
