// adashta-bench-sched: how punctually the work queue hands out delayed jobs when many are
// pending at once (bench/CONTRACT.md, "Other Adashta tools"; bench/peers/rsmq_sched.mjs is
// its RSMQ twin).
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 adashta-bench-sched --messages 100000 --spread-ms 10000
//
// Message i is meant to fall due at lead + i * spread / (N - 1) ms after the run starts.
// Sender threads send each with delay = that time minus now, rounded up to whole ms (the
// queue's unit), and write its due time into the body: the send's start, cut down to the
// whole ms (the edge stamps jobs in whole ms of the same system clock), plus the delay, in
// µs since the epoch: the earliest moment the queue may hand it out. Consumers long-poll
// receive and delete; lateness = receive returned - due, so it includes up to 1 ms of that
// rounding. "early" counts jobs that came before their due time (must be 0). --lead-ms must
// cover the sending (send_s in the result); the run's schedule uses the steady clock.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adashta/node.hpp"
#include "adashta/work_queues.hpp"
#include "flags.hpp"
#include "histogram.hpp"
#include "join.hpp"

namespace {

using adashta::bench::Histogram;
using adashta::bench::steady_us;
using std::chrono::milliseconds;

// Microseconds since the epoch on the system clock, the clock the edge schedules jobs by.
std::int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

constexpr const char* kTool = "adashta-bench-sched";
constexpr const char* kUsage =
    "usage: adashta-bench-sched --messages N --spread-ms S [--lead-ms 15000] [--consumers 4]\n"
    "                           [--senders 8] [--queue benchsched] [--seeds tcp://HOST:PORT]\n"
    "                           [--nodes 1 (0: one per thread)] [--grace-s 30]";

struct Run {
    std::string queue;
    long messages = 0;
    std::int64_t start_us = 0;     // the run's zero
    std::int64_t lead_us = 0;      // first due time after start_us
    std::int64_t spread_us = 0;    // last due time after the first
    std::int64_t deadline_us = 0;  // hard cap: consumers give up here

    std::atomic<long> next{0};  // next message index to send
    std::atomic<long> received{0};
    std::atomic<long> early{0};
    std::atomic<long> errors{0};
    std::atomic<std::int64_t> early_worst_us{0};  // most negative lateness, as a positive number

    std::mutex merge_mutex;  // guards lateness
    Histogram lateness;

    std::int64_t target_us(long i) const {
        const std::int64_t offset = messages > 1 ? spread_us * i / (messages - 1) : std::int64_t{0};
        return start_us + lead_us + offset;
    }
    bool over() const {
        return received.load(std::memory_order_relaxed) >= messages || steady_us() > deadline_us;
    }
    void error(const std::string& what) {
        if (errors.fetch_add(1) < 5) std::cerr << kTool << ": " << what << "\n";
    }
};

// Senders take indexes in order, so early-due messages go out first.
void send(adashta::Node& node, Run& run) {
    adashta::WorkQueues queues{node};
    for (long i = run.next++; i < run.messages; i = run.next++) {
        const std::int64_t now = steady_us();
        const std::int64_t delay_ms =
            std::max<std::int64_t>(0, (run.target_us(i) - now + 999) / 1000);
        const std::int64_t due_us = (wall_us() / 1000 + delay_ms) * 1000;
        if (auto id =
                queues.send_message(run.queue, std::to_string(due_us), milliseconds{delay_ms});
            !id)
            run.error("send_message: " + id.error().to_string());
    }
}

void consume(adashta::Node& node, Run& run) {
    adashta::WorkQueues queues{node};
    Histogram lateness;
    while (!run.over()) {
        auto job = queues.receive_message(run.queue, {.wait = milliseconds{1000}});
        const std::int64_t got = wall_us();
        if (!job) {
            run.error("receive_message: " + job.error().to_string());
            std::this_thread::sleep_for(milliseconds{10});  // a failing edge: do not spin
            continue;
        }
        if (!*job) continue;
        const std::string& body = (*job)->message;
        std::int64_t due = 0;
        if (std::from_chars(body.data(), body.data() + body.size(), due).ec != std::errc{}) {
            run.error("a job without a due time: " + body.substr(0, 40));
            continue;
        }
        const std::int64_t late = got - due;
        if (late < 0) {
            run.early.fetch_add(1, std::memory_order_relaxed);
            std::int64_t worst = run.early_worst_us.load();
            while (-late > worst && !run.early_worst_us.compare_exchange_weak(worst, -late)) {
            }
        }
        lateness.record(late);
        run.received.fetch_add(1, std::memory_order_relaxed);
        if (auto deleted = queues.delete_message(run.queue, (*job)->id); !deleted)
            run.error("delete_message: " + deleted.error().to_string());
    }
    std::lock_guard lock{run.merge_mutex};
    run.lateness.merge(lateness);
}

}  // namespace

int main(int argc, char** argv) {
    const adashta::bench::Flags flags{argc,
                                      argv,
                                      kUsage,
                                      {"--messages", "--spread-ms", "--lead-ms", "--consumers",
                                       "--senders", "--queue", "--seeds", "--nodes", "--grace-s"}};
    if (!flags.has("--messages")) flags.fail("--messages is required");
    if (!flags.has("--spread-ms")) flags.fail("--spread-ms is required");
    Run run;
    run.messages = flags.number("--messages", 0, 1, 10'000'000);
    run.spread_us = flags.number("--spread-ms", 0, 0, 3'600'000) * 1000;
    run.lead_us = flags.number("--lead-ms", 15000, 0, 3'600'000) * 1000;
    const long consumers = flags.number("--consumers", 4, 1, 256);
    const long senders = flags.number("--senders", 8, 1, 256);
    const long node_count = flags.number("--nodes", 1, 0, 512);
    const long grace_s = flags.number("--grace-s", 30, 1, 3600);
    run.queue = flags.text("--queue", "benchsched");
    const std::string seeds = flags.text("--seeds", "");

    const long threads = senders + consumers;
    auto nodes = adashta::bench::join_nodes(kTool, seeds, "bench-sched-",
                                            node_count == 0 ? threads : node_count);
    auto node_for = [&](long thread) -> adashta::Node& { return *nodes[thread % nodes.size()]; };
    adashta::bench::fresh_work_queue(kTool, *nodes[0], run.queue);
    std::cerr << kTool << ": " << run.messages << " messages due over " << run.spread_us / 1000
              << " ms from " << run.lead_us / 1000 << " ms on; " << senders << " senders, "
              << consumers << " consumers, queue " << run.queue << "\n";

    run.start_us = steady_us();
    run.deadline_us = run.start_us + run.lead_us + run.spread_us + grace_s * 1'000'000;
    std::vector<std::thread> sending;
    for (long s = 0; s < senders; ++s) sending.emplace_back([&, s] { send(node_for(s), run); });
    std::vector<std::thread> consuming;
    for (long c = 0; c < consumers; ++c)
        consuming.emplace_back([&, c] { consume(node_for(senders + c), run); });
    for (auto& t : sending) t.join();
    const double send_s = static_cast<double>(steady_us() - run.start_us) / 1e6;
    std::cerr << kTool << ": sent " << run.messages << " in " << send_s << " s\n";
    if (send_s * 1e6 > static_cast<double>(run.lead_us))
        std::cerr << kTool
                  << ": warning: sending took longer than --lead-ms, so the first "
                     "messages fell due before all were pending; raise --lead-ms\n";
    for (auto& t : consuming) t.join();

    const long received = run.received.load();
    std::cerr << kTool << ": received " << received << ", " << run.early << " early (worst "
              << run.early_worst_us << " us), " << run.errors << " errors\n";
    std::cout << "{\"tool\":\"" << kTool << "\",\"messages\":" << run.messages
              << ",\"spread_ms\":" << run.spread_us / 1000 << ",\"lead_ms\":" << run.lead_us / 1000
              << ",\"received\":" << received << ",\"early\":" << run.early.load()
              << ",\"errors\":" << run.errors.load() << ",\"send_s\":" << std::to_string(send_s)
              << ",\"lateness_us\":" << run.lateness.json() << "}" << std::endl;
    if (received < run.messages) {
        std::cerr << kTool << ": gave up " << grace_s << " s after the last due time with "
                  << received << " of " << run.messages << " received\n";
        return 1;
    }
    for (auto& node : nodes) node->stop();
    return 0;
}
