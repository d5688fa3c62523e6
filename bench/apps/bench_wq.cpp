// adashta-bench-wq: the full work-queue cycle (send -> receive -> delete) through
// adashta::WorkQueues, with producer and consumer threads, the way RSMQ workers use a queue
// (bench/CONTRACT.md, "Other Adashta tools"; bench/peers/rsmq_wq.mjs is its RSMQ twin).
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 adashta-bench-wq --producers 8 --consumers 8 --messages
//   20000
//
// Every WorkQueues call blocks for the edge's answer, so concurrency comes from threads: each
// producer sends its share of the messages one after another, each consumer loops a
// long-poll receive and a delete. A message's body starts with the time its send started
// (µs, steady clock of this process); its latency ends when its delete has returned.
// Threads share --nodes mesh nodes round robin (0: one node per thread).
//
// --batch N (default 1) moves N jobs per call: producers send_messages N at a time,
// consumers receive_messages up to N and delete_messages them. The default, one job per
// call with one call in flight per thread, is the cycle RSMQ's twin runs; compare only that.
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

constexpr const char* kTool = "adashta-bench-wq";
constexpr const char* kUsage =
    "usage: adashta-bench-wq --messages N [--producers 8] [--consumers 8] [--size 64]\n"
    "                        [--queue benchwq] [--seeds tcp://HOST:PORT] [--nodes 1 (0: one per "
    "thread)]\n"
    "                        [--wait-ms 1000] [--max-s 300] [--batch 1]";

struct Run {
    std::string queue;
    long messages = 0;
    long size = 64;
    std::size_t batch = 1;  // jobs per call; 1: send/receive/delete_message
    milliseconds wait{1000};
    std::int64_t deadline_us = 0;  // hard cap: every thread stops here

    std::atomic<long> deleted{0};
    std::atomic<long> errors{0};
    std::atomic<std::int64_t> last_delete_us{0};
    std::atomic<bool> stop{false};

    std::mutex merge_mutex;  // guards latency
    Histogram latency;

    bool over() const { return stop.load(std::memory_order_relaxed) || steady_us() > deadline_us; }

    void error(const std::string& what) {
        if (errors.fetch_add(1) < 5) std::cerr << kTool << ": " << what << "\n";
    }
};

// "<send start µs>:" then 'x' up to size bytes.
std::string body_of(std::int64_t send_us, long size) {
    std::string body = std::to_string(send_us) + ":";
    if (static_cast<long>(body.size()) < size) body.append(size - body.size(), 'x');
    return body;
}

std::int64_t stamp_of(std::string_view body) {
    std::int64_t value = -1;
    std::from_chars(body.data(), body.data() + body.size(), value);
    return value;
}

void produce_batches(adashta::WorkQueues& queues, Run& run, long count) {
    std::vector<std::string> bodies;
    for (long done = 0; done < count && !run.over();) {
        const long n = std::min<long>(static_cast<long>(run.batch), count - done);
        const std::int64_t start = steady_us();
        bodies.clear();
        for (long i = 0; i < n; ++i) bodies.push_back(body_of(start, run.size));
        if (auto ids = queues.send_messages(run.queue, bodies); !ids)
            run.error("send_messages: " + ids.error().to_string());
        done += n;
    }
}

void produce(adashta::Node& node, Run& run, long count) {
    adashta::WorkQueues queues{node};
    if (run.batch > 1) return produce_batches(queues, run, count);
    for (long i = 0; i < count && !run.over(); ++i) {
        const std::int64_t start = steady_us();
        if (auto id = queues.send_message(run.queue, body_of(start, run.size)); !id)
            run.error("send_message: " + id.error().to_string());
    }
}

// Records a deleted job's latency; true when the run has all its cycles.
bool finished(Run& run, Histogram& latency, std::int64_t sent, std::int64_t done) {
    latency.record(done - sent);
    run.last_delete_us.store(done, std::memory_order_relaxed);
    return run.deleted.fetch_add(1, std::memory_order_relaxed) + 1 >= run.messages;
}

void consume_batches(adashta::WorkQueues& queues, Run& run, Histogram& latency) {
    std::vector<std::string> ids;
    while (run.deleted.load(std::memory_order_relaxed) < run.messages && !run.over()) {
        auto jobs = queues.receive_messages(run.queue, run.batch, {.wait = run.wait});
        if (!jobs) {
            run.error("receive_messages: " + jobs.error().to_string());
            std::this_thread::sleep_for(milliseconds{10});  // a failing edge: do not spin
            continue;
        }
        if (jobs->empty()) continue;
        ids.clear();
        for (const auto& job : *jobs) ids.push_back(job.id);
        auto deleted = queues.delete_messages(run.queue, ids);
        const std::int64_t done = steady_us();
        if (!deleted) {
            run.error("delete_messages: " + deleted.error().to_string());
            continue;
        }
        for (const auto& job : *jobs) {
            const std::int64_t sent = stamp_of(job.message);
            if (sent < 0) {
                run.error("a job without a send time: " + job.message.substr(0, 40));
                continue;
            }
            if (finished(run, latency, sent, done)) run.stop = true;
        }
    }
}

void consume(adashta::Node& node, Run& run) {
    adashta::WorkQueues queues{node};
    Histogram latency;
    if (run.batch > 1) consume_batches(queues, run, latency);
    while (run.batch == 1 && run.deleted.load(std::memory_order_relaxed) < run.messages &&
           !run.over()) {
        auto job = queues.receive_message(run.queue, {.wait = run.wait});
        if (!job) {
            run.error("receive_message: " + job.error().to_string());
            std::this_thread::sleep_for(milliseconds{10});  // a failing edge: do not spin
            continue;
        }
        if (!*job) continue;
        const std::int64_t sent = stamp_of((*job)->message);
        auto deleted = queues.delete_message(run.queue, (*job)->id);
        const std::int64_t done = steady_us();
        if (!deleted) {
            run.error("delete_message: " + deleted.error().to_string());
            continue;
        }
        if (sent < 0) {
            run.error("a job without a send time: " + (*job)->message.substr(0, 40));
            continue;
        }
        if (finished(run, latency, sent, done)) run.stop = true;
    }
    std::lock_guard lock{run.merge_mutex};
    run.latency.merge(latency);
}

}  // namespace

int main(int argc, char** argv) {
    const adashta::bench::Flags flags{
        argc,
        argv,
        kUsage,
        {"--producers", "--consumers", "--messages", "--size", "--queue", "--seeds", "--nodes",
         "--wait-ms", "--max-s", "--batch"}};
    if (!flags.has("--messages")) flags.fail("--messages is required");
    const long producers = flags.number("--producers", 8, 1, 256);
    const long consumers = flags.number("--consumers", 8, 1, 256);
    const long node_count = flags.number("--nodes", 1, 0, 512);
    const long max_s = flags.number("--max-s", 300, 1, 3600);
    Run run;
    run.messages = flags.number("--messages", 0, 1, 100'000'000);
    run.size = flags.number("--size", 64, 1, 60'000);
    run.queue = flags.text("--queue", "benchwq");
    run.wait = milliseconds{flags.number("--wait-ms", 1000, 0, 20'000)};
    run.batch = static_cast<std::size_t>(
        flags.number("--batch", 1, 1, static_cast<long>(adashta::WorkQueues::kMaxBatch)));
    const std::string seeds = flags.text("--seeds", "");

    const long threads = producers + consumers;
    auto nodes = adashta::bench::join_nodes(kTool, seeds, "bench-wq-",
                                            node_count == 0 ? threads : node_count);
    auto node_for = [&](long thread) -> adashta::Node& { return *nodes[thread % nodes.size()]; };
    adashta::bench::fresh_work_queue(kTool, *nodes[0], run.queue);
    std::cerr << kTool << ": " << run.messages << " messages of " << run.size << " bytes, "
              << producers << " producers, " << consumers << " consumers, " << nodes.size()
              << " node(s), queue " << run.queue << ", " << run.batch << " job(s) per call\n";

    const std::int64_t start_us = steady_us();
    run.deadline_us = start_us + max_s * 1'000'000;
    std::vector<std::thread> workers;
    for (long c = 0; c < consumers; ++c)
        workers.emplace_back([&, c] { consume(node_for(producers + c), run); });
    for (long p = 0; p < producers; ++p) {
        const long share = run.messages / producers + (p < run.messages % producers ? 1 : 0);
        workers.emplace_back([&, p, share] { produce(node_for(p), run, share); });
    }
    for (auto& w : workers) w.join();

    const long done = run.deleted.load();
    const double duration_s = static_cast<double>(run.last_delete_us.load() - start_us) / 1e6;
    const double rate = duration_s > 0 ? static_cast<double>(done) / duration_s : 0.0;
    std::cerr << kTool << ": " << done << " cycles in " << duration_s << " s, " << run.errors
              << " errors\n";
    std::cout << "{\"tool\":\"" << kTool << "\",\"producers\":" << producers
              << ",\"batch\":" << run.batch << ",\"consumers\":" << consumers
              << ",\"nodes\":" << nodes.size() << ",\"messages\":" << run.messages
              << ",\"completed\":" << done << ",\"errors\":" << run.errors.load()
              << ",\"duration_s\":" << std::to_string(duration_s)
              << ",\"rate\":" << static_cast<std::int64_t>(rate)
              << ",\"latency_us\":" << run.latency.json() << "}" << std::endl;
    if (done < run.messages) {
        std::cerr << kTool << ": stopped after " << max_s << " s with " << done << " of "
                  << run.messages << " messages done\n";
        return 1;
    }
    for (auto& node : nodes) node->stop();
    return 0;
}
