// adashta-plugin-calls: how many pass-through on_message calls per second the plugin
// runtimes serve, with a fixed number of calls in flight, beside the edge's at-most-once
// ingress (bench/README.md). Not a test: it prints a table and one JSON line.
//
//   build/adashta-plugin-calls [--calls N] [--in-flight N] [--seconds S] [--node PATH]
//
// Rows: the Lua plugin called directly on one thread (the runtime alone), the Lua and the
// JavaScript plugin through a Chain as the edge calls them (the caller's thread stands in
// for the edge's HTTP thread: its CPU time per call is the "caller µs" column), and the
// JavaScript plugin through JsPlugin directly. "CPU µs" is the CPU time per call of this
// process and the plugin host process together: steadier than calls/s on a busy machine.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "adashta/plugins/chain.hpp"
#include "adashta/plugins/js_host.hpp"
#include "adashta/plugins/lua_plugin.hpp"
#include "adashta/plugins/lua_runner.hpp"

using namespace adashta::plugins;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

struct Args {
    long calls = 200'000;     // at most this many calls per runtime
    int in_flight = 1000;     // calls outstanding at any time
    double seconds = 10;      // and for at most this long
    std::string node = "node";  // the plugin host's Node.js (a wrapper script, to profile it)
};

struct Row {
    std::string runtime;
    long calls = 0;
    double seconds = 0;
    double p50_us = 0, p99_us = 0;
    double caller_us = -1;  // the calling thread's CPU time per call (-1: not measured)
    double cpu_us = 0;      // CPU time per call of this process and the plugin host's
    long failures = 0;
};

// CPU seconds of this process, and of the plugin host process when there is one (/proc,
// in clock ticks: fine over the seconds a row runs).
double process_cpu_seconds(pid_t host) {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    double total = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                   static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    if (host > 0) {
        std::ifstream stat("/proc/" + std::to_string(host) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        const auto close = text.rfind(')');
        if (close != std::string::npos) {
            std::istringstream fields(text.substr(close + 2));
            std::string field;
            double ticks = 0;
            for (int i = 1; i <= 13 && fields >> field; ++i)
                if (i >= 12) ticks += std::atof(field.c_str());  // utime, stime
            total += ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
        }
    }
    return total;
}

// The calling thread's CPU time.
double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A plugin folder in /tmp with a pass-through on_message hook.
fs::path write_plugin(const std::string& runtime) {
    const fs::path dir = fs::temp_directory_path() / ("adashta-bench-plugin-" + runtime + "-" + std::to_string(getpid()));
    fs::create_directories(dir);
    const bool js = runtime == "js";
    std::ofstream(dir / (js ? "index.mjs" : "main.lua"))
        << (js ? "export function on_message(msg, client) {}\n" : "return { on_message = function(msg, client) end }\n");
    std::ofstream(dir / "adashta-plugin.json")
        << R"({"name":"bench","version":"1.0.0","runtime":")" << runtime << R"(","entry":")"
        << (js ? "index.mjs" : "main.lua")
        // A limit far above a loaded machine's pauses: this measures calls, not the limits.
        << R"(","hooks":["on_message"],"limits":{"callMs":2000}})";
    return dir;
}

const CallText kCall{Hook::on_message, R"({"queue":"bench","id":"m1","ts":1764000000000})",
                     R"({"n":1,"text":"a 64-byte message, as in the ingress benchmark......"})",
                     R"({"session":"s1","user":"u1"})"};

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
}

// Keeps args.in_flight calls outstanding through submit(call, done) until args.calls were
// made or args.seconds passed; done may run on any thread.
template <typename Submit>
void drive(const Args& args, Row& row, pid_t host, Submit submit) {
    std::mutex mutex;
    std::condition_variable cv;
    long sent = 0, answered = 0;
    std::vector<double> latencies;
    latencies.reserve(static_cast<std::size_t>(args.calls));
    double caller_cpu = 0;
    const double cpu_start = process_cpu_seconds(host);
    const auto start = Clock::now();
    const auto stop_at = start + std::chrono::duration<double>(args.seconds);
    std::unique_lock lock(mutex);
    while (sent < args.calls && Clock::now() < stop_at) {
        cv.wait(lock, [&] { return sent - answered < args.in_flight; });
        const long burst = std::min<long>(args.in_flight - (sent - answered), args.calls - sent);
        lock.unlock();
        const double cpu0 = thread_cpu_seconds();
        for (long i = 0; i < burst; ++i) {
            const auto t0 = Clock::now();
            submit(kCall, [&, t0](bool failed) {
                const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
                std::lock_guard g(mutex);
                if (failed) ++row.failures;
                latencies.push_back(us);
                ++answered;
                if (answered == sent || sent - answered == args.in_flight / 2) cv.notify_all();
            });
        }
        caller_cpu += thread_cpu_seconds() - cpu0;
        lock.lock();
        sent += burst;
    }
    cv.wait(lock, [&] { return answered == sent; });
    row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    row.calls = answered;
    row.p50_us = percentile(latencies, 0.5);
    row.p99_us = percentile(latencies, 0.99);
    row.caller_us = caller_cpu / static_cast<double>(answered) * 1e6;
    row.cpu_us = (process_cpu_seconds(host) - cpu_start) / static_cast<double>(answered) * 1e6;
}

std::unique_ptr<JsHost> start_host(const Args& args, const fs::path& dir) {
    JsHost::Options options;
    options.node = args.node;
    options.folders = {dir};
    auto host = JsHost::start(options);
    if (!host) {
        std::fprintf(stderr, "%s\n", host.error().to_string().c_str());
        std::exit(1);
    }
    return std::move(*host);
}

template <typename T>
T loaded(adashta::Result<T> plugin) {
    if (!plugin) {
        std::fprintf(stderr, "%s\n", plugin.error().to_string().c_str());
        std::exit(1);
    }
    return std::move(*plugin);
}

Row run_js(const Args& args) {
    Row row{"js (JsPlugin, " + std::to_string(args.in_flight) + " in flight)"};
    const fs::path dir = write_plugin("js");
    auto host = start_host(args, dir);
    auto plugin = loaded<std::unique_ptr<JsPlugin>>(host->load(*read_manifest(dir), ""));
    drive(args, row, host->pid(), [&](const CallText& call, auto done) {
        plugin->call(call, [done = std::move(done)](Outcome out) { done(out.failure != Failure::none); });
    });
    fs::remove_all(dir);
    return row;
}

// Through a Chain of one plugin, as the edge calls it.
Row run_chain(const Args& args, const std::string& runtime) {
    Row row{runtime + " (Chain, " + std::to_string(args.in_flight) + " in flight)"};
    const fs::path dir = write_plugin(runtime);
    const auto manifest = *read_manifest(dir);
    std::unique_ptr<JsHost> host;
    std::vector<ChainLink> links(1);
    if (runtime == "js") {
        host = start_host(args, dir);
        links[0].plugin = loaded<std::unique_ptr<JsPlugin>>(host->load(manifest, ""));
    } else {
        links[0].plugin = loaded<std::unique_ptr<LuaRunner>>(LuaRunner::start(manifest, ""));
    }
    {
        Chain chain(std::move(links));
        drive(args, row, host ? host->pid() : 0, [&](const CallText& call, auto done) {
            chain.run(Hook::on_message, "bench", call,
                      [done = std::move(done)](Verdict verdict, std::string) {
                          done(verdict.kind != Verdict::Kind::pass);
                      });
        });
    }
    fs::remove_all(dir);
    return row;
}

Row run_lua(const Args& args) {
    Row row{"lua (LuaPlugin, one thread)"};
    const fs::path dir = write_plugin("lua");
    auto m = read_manifest(dir);
    auto plugin = LuaPlugin::load(*m, "");
    const double cpu_start = process_cpu_seconds(0);
    const auto start = Clock::now();
    const auto stop_at = start + std::chrono::duration<double>(args.seconds);
    std::vector<double> latencies;
    while (row.calls < args.calls && Clock::now() < stop_at) {
        const auto t0 = Clock::now();
        if ((*plugin)->call(kCall.view()).failure != Failure::none) ++row.failures;
        latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        ++row.calls;
    }
    row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    row.cpu_us = (process_cpu_seconds(0) - cpu_start) / static_cast<double>(row.calls) * 1e6;
    row.p50_us = percentile(latencies, 0.5);
    row.p99_us = percentile(latencies, 0.99);
    fs::remove_all(dir);
    return row;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--calls") args.calls = std::atol(argv[i + 1]);
        else if (flag == "--in-flight") args.in_flight = std::atoi(argv[i + 1]);
        else if (flag == "--seconds") args.seconds = std::atof(argv[i + 1]);
        else if (flag == "--node") args.node = argv[i + 1];
        else {
            std::fprintf(stderr, "adashta-plugin-calls: unknown flag %s; use --calls, --in-flight, --seconds, --node\n",
                         argv[i]);
            return 2;
        }
    }
    const std::vector<Row> rows = {run_lua(args), run_chain(args, "lua"), run_js(args), run_chain(args, "js")};
    std::printf("%-36s %9s %10s %10s %10s %10s %8s %7s\n", "pass-through on_message", "calls", "calls/s", "p50 µs",
                "p99 µs", "caller µs", "CPU µs", "failed");
    for (const auto& r : rows)
        std::printf("%-36s %9ld %10.0f %10.1f %10.1f %10.2f %8.2f %7ld\n", r.runtime.c_str(), r.calls,
                    static_cast<double>(r.calls) / r.seconds, r.p50_us, r.p99_us, r.caller_us, r.cpu_us,
                    r.failures);
    std::printf("{\"bench\":\"plugin_calls\",\"in_flight\":%d,\"rows\":[", args.in_flight);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::string& r = rows[i].runtime;
        const std::string path = r.substr(r.find('(') + 1, r.find_first_of(",)") - r.find('(') - 1);
        std::printf("%s{\"runtime\":\"%s\",\"path\":\"%s\",\"calls\":%ld,\"calls_per_s\":%.0f,\"p50_us\":%.1f,"
                    "\"p99_us\":%.1f,\"caller_us\":%.2f,\"cpu_us\":%.2f,\"failed\":%ld}",
                    i ? "," : "", r.substr(0, r.find(' ')).c_str(), path.c_str(), rows[i].calls,
                    static_cast<double>(rows[i].calls) / rows[i].seconds, rows[i].p50_us, rows[i].p99_us,
                    rows[i].caller_us, rows[i].cpu_us, rows[i].failures);
    }
    std::printf("]}\n");
    return 0;
}
