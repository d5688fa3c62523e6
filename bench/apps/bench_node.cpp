// adashta-bench-node: the server application of the load generator's adashta scenarios
// (bench/CONTRACT.md, "Server applications"). A node that joins the mesh through
// ADASHTA_SEEDS and either counts what browsers produce to "bench" (sink) or answers every
// message on "echo" to its sender (echo), or both at once (both: the flood scenario, where
// "received" counts "bench" and "echoed" the answers). On SIGTERM or SIGINT it prints the
// result line.
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 adashta-bench-node --mode sink
//   {"event":"ready"}
//   ... kill -TERM ...
//   {"tool":"adashta-bench-node","mode":"sink","received":N,"first_ms":..,"last_ms":..,"rate":..}
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include "adashta/node.hpp"
#include "flags.hpp"

namespace {

using adashta::bench::wall_ms;

constexpr const char* kTool = "adashta-bench-node";
constexpr const char* kUsage = "usage: adashta-bench-node --mode sink|echo|both [--name N]";

// Written by the node's handler thread only (one handler at a time), read by main after the
// signal: relaxed atomics, so the hot path is a few plain stores.
struct Counts {
    std::atomic<std::uint64_t> received{0};
    std::atomic<std::int64_t> first_ms{0};
    std::atomic<std::int64_t> last_ms{0};
    std::atomic<std::uint64_t> reply_failures{0};
    std::atomic<std::uint64_t> echoed{0};  // both: echo messages answered (not in received)

    void count_one() {
        const std::int64_t now = wall_ms();
        if (received.fetch_add(1, std::memory_order_relaxed) == 0)
            first_ms.store(now, std::memory_order_relaxed);
        last_ms.store(now, std::memory_order_relaxed);
    }
};

std::string result_line(const std::string& mode, const Counts& counts) {
    const auto received = counts.received.load(std::memory_order_relaxed);
    const auto first = counts.first_ms.load(std::memory_order_relaxed);
    const auto last = counts.last_ms.load(std::memory_order_relaxed);
    const double rate =
        last > first ? static_cast<double>(received) * 1000.0 / static_cast<double>(last - first)
                     : 0.0;
    return std::string{"{\"tool\":\""} + kTool + "\",\"mode\":\"" + mode +
           "\",\"received\":" + std::to_string(received) +
           ",\"first_ms\":" + std::to_string(first) + ",\"last_ms\":" + std::to_string(last) +
           ",\"rate\":" + std::to_string(static_cast<std::int64_t>(rate)) +
           (mode == "both" ? ",\"echoed\":" + std::to_string(counts.echoed.load()) : "") + "}";
}

}  // namespace

int main(int argc, char** argv) {
    const adashta::bench::Flags flags{argc, argv, kUsage, {"--mode", "--name"}};
    if (!flags.has("--mode")) flags.fail("--mode is required");
    const std::string mode = flags.choice("--mode", {"sink", "echo", "both"});
    const std::string name = flags.text("--name", "bench-" + mode);

    Counts counts;
    adashta::NodeOptions options = adashta::NodeOptions::from_env();
    options.name = name;
    adashta::Node node{options};
    adashta::Status consumed;
    if (mode != "echo") {
        consumed =
            node.consume("bench", [&counts](const adashta::Message&) { counts.count_one(); });
        // The durable-publish scenario produces to "durable": the edge refuses a queue that
        // no node consumes, so the sink takes it too (and counts it separately: not at all).
        if (consumed) consumed = node.consume("durable", [](const adashta::Message&) {});
    }
    if (mode != "sink" && (mode == "echo" || consumed)) {
        const bool both = mode == "both";
        consumed = node.consume("echo", [&counts, &node, both](const adashta::Message& m) {
            if (both)
                counts.echoed.fetch_add(1, std::memory_order_relaxed);
            else
                counts.count_one();
            if (!node.produce("echo", m.data, {.to = m.client}))
                counts.reply_failures.fetch_add(1, std::memory_order_relaxed);
        });
    }
    if (!consumed) {
        std::cerr << kTool << ": " << consumed.error().to_string() << "\n";
        return 1;
    }
    if (auto started = node.start(); !started) {
        std::cerr << kTool << ": " << started.error().to_string() << "\n";
        return 1;
    }
    if (!node.wait_for_edges(1, std::chrono::seconds{10})) {
        std::cerr << kTool << ": no edge answered within 10 s at ADASHTA_SEEDS="
                  << (std::getenv("ADASHTA_SEEDS") ? std::getenv("ADASHTA_SEEDS")
                                                   : "(unset: tcp://127.0.0.1:7700)")
                  << "; start one, e.g. `adashta edge --mesh 127.0.0.1:7700`\n";
        return 1;
    }
    const char* queues = mode == "sink"   ? "\"bench\""
                         : mode == "echo" ? "\"echo\""
                                          : "\"bench\" and \"echo\"";
    std::cerr << kTool << ": " << mode << " node " << name << " at " << node.endpoint()
              << " consuming " << queues << "\n";
    std::cout << "{\"event\":\"ready\"}" << std::endl;

    const int signal = adashta::wait_for_signal();
    const std::string line = result_line(mode, counts);
    if (const auto failed = counts.reply_failures.load(); failed > 0)
        std::cerr << kTool << ": " << failed << " replies could not be sent\n";
    std::cerr << kTool << ": stopped by signal " << signal << "\n";
    std::cout << line << std::endl;
    node.stop();
    return 0;
}
