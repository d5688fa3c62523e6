// Hook calls through the plugin chain with no edge around it: how many a Lua plugin answers
// a second, for the pass-through and transforming hooks issue #15's benchmark is about.
//
//   adashta-bench-plugin --hook pass --messages 200000 --in-flight 1000
//
// Prints one line: calls/s, and CPU µs per call of the whole process (the caller's thread
// included, which stands in for the edge's).
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "adashta/plugins/chain.hpp"
#include "adashta/plugins/lua_runner.hpp"
#include "flags.hpp"

using namespace adashta;
using namespace adashta::plugins;

namespace {

constexpr const char* kUsage =
    "usage: adashta-bench-plugin [--hook pass|read|change] [--messages N] [--in-flight N]\n"
    "  pass: returns nothing; read: reads msg.data; change: returns adashta.pass(changed data)";

std::string source_of(const std::string& hook) {
    if (hook == "pass") return "return { on_message = function(msg) end }";
    if (hook == "read") return "return { on_message = function(msg) local t = msg.data.text end }";
    return "return { on_message = function(msg) msg.data.text = msg.data.text:upper() "
           "return adashta.pass(msg.data) end }";
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    const bench::Flags flags{argc, argv, kUsage, {"--hook", "--messages", "--in-flight"}};
    const std::string hook = flags.choice("--hook", {"pass", "read", "change"});
    const long messages = flags.number("--messages", 200'000, 1, 100'000'000);
    const long in_flight = flags.number("--in-flight", 1000, 1, 1'000'000);

    const auto folder = std::filesystem::temp_directory_path() /
                        ("adashta-bench-plugin-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder);
    std::ofstream(folder / "main.lua") << source_of(hook);
    std::ofstream(folder / "adashta-plugin.json")
        << R"({"name":"bench","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"]})";
    auto manifest = read_manifest(folder);
    if (!manifest) {
        std::fprintf(stderr, "%s\n", manifest.error().to_string().c_str());
        return 1;
    }
    auto runner = LuaRunner::start(*manifest, "");
    if (!runner) {
        std::fprintf(stderr, "%s\n", runner.error().to_string().c_str());
        return 1;
    }
    std::vector<ChainLink> links;
    links.push_back(ChainLink{std::move(*runner), {}});
    Chain chain(std::move(links));

    std::mutex mutex;
    std::condition_variable room;
    long outstanding = 0;
    std::atomic<long> answered{0};
    const std::string subject = R"({"queue":"bench","id":"m1","session":"s1"})";
    const std::string data = R"({"text":"hello, world","n":12345,"tags":["a","b"]})";
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    for (long i = 0; i < messages; ++i) {
        {
            std::unique_lock lock(mutex);
            room.wait(lock, [&] { return outstanding < in_flight; });
            ++outstanding;
        }
        chain.run(Hook::on_message, "bench", CallText{Hook::on_message, subject, data, "{}"},
                  [&](Verdict, std::string) {
                      ++answered;
                      std::lock_guard lock(mutex);
                      --outstanding;
                      room.notify_one();
                  });
    }
    {
        std::unique_lock lock(mutex);
        room.wait(lock, [&] { return outstanding == 0; });
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_start;
    std::printf("hook=%s messages=%ld in_flight=%ld calls/s=%.0f cpu_us_per_call=%.2f failures=%llu\n",
                hook.c_str(), messages, in_flight, static_cast<double>(answered) / seconds,
                cpu / static_cast<double>(messages) * 1e6,
                static_cast<unsigned long long>(chain.stats(0).failures[0] + chain.stats(0).failures[1] +
                                                chain.stats(0).failures[2]));
    std::filesystem::remove_all(folder);
    return 0;
}
