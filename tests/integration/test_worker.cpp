// A work-queue client for the integration tests (work_queues.test.mjs): joins the mesh
// through ADASHTA_SEEDS and either sends jobs or works on them the way a worker process
// would, printing one line per event so the test can check who got which job, and when.
// Times are ms since the epoch on the system clock, the clock the edge stamps jobs with.
//
//   adashta-test-worker --produce 1000 --queue jobs
//       "sent ID BODY" per job, then "produced N MS" (N jobs in MS milliseconds)
//   adashta-test-worker --consume --queue jobs --vt-ms 2000 [--forget-every K]
//                       [--wait-ms 1000] [--name w1]
//       loops receive_message(vt, wait) then delete_message; per job:
//       "job ID RC SENT FR BEFORE AFTER NAME BODY"  (BEFORE/AFTER: around the receive call)
//       then "deleted ID true|false MS" (MS: when the delete returned), or "kept ID" for
//       every K-th job it receives, which it does not delete, so the job comes back after vt.
//       "receiving MS" is printed before a receive that follows an empty one (so a test
//       knows a long poll is parked), "error TEXT" for a failed call. On SIGTERM it prints
//       "stopped NAME" and exits at once, even with a receive still waiting.
//
// --oversize-job I makes job I too large for a queue with the default maxsize.
// --batch N (both modes) moves N jobs per call: send_messages, receive_messages up to N,
// then one delete_messages for the jobs it does not keep. The lines are the same, each job's
// "job" line followed by its "kept" or "deleted" line, and "received K" after each receive
// that got K > 0 jobs.
//
// Prints "ready NAME" once an edge answers. Exits 1 on a failed start or produce.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adashta/node.hpp"
#include "adashta/work_queues.hpp"

namespace {

using std::chrono::milliseconds;

struct WorkerOptions {
    std::string queue = "jobs";
    std::string name = "worker";
    bool consume = false;
    long produce = 0;           // jobs to send; 0 = not a producer
    std::optional<long> vt_ms;  // unset: the queue's own vt (a negative one is sent as given)
    long forget_every = 0;      // 0: delete every job
    long wait_ms = 1000;        // long poll of each receive
    long batch = 0;             // jobs per call; 0: send/receive/delete_message one by one
    long oversize_job = -1;     // this job's body is padded past the default maxsize
};

std::int64_t wall_ms() {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One line at a time: the consumer thread and main both print.
std::mutex out_mutex;
void print_line(const std::string& line) {
    std::lock_guard lock{out_mutex};
    std::cout << line << std::endl;
}

bool parse(int argc, char** argv, WorkerOptions& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag{argv[i]};
        const bool has_value = i + 1 < argc;
        if (flag == "--consume") {
            o.consume = true;
        } else if (flag == "--produce" && has_value) {
            o.produce = std::stol(argv[++i]);
        } else if (flag == "--queue" && has_value) {
            o.queue = argv[++i];
        } else if (flag == "--name" && has_value) {
            o.name = argv[++i];
        } else if (flag == "--vt-ms" && has_value) {
            o.vt_ms = std::stol(argv[++i]);
        } else if (flag == "--forget-every" && has_value) {
            o.forget_every = std::stol(argv[++i]);
        } else if (flag == "--wait-ms" && has_value) {
            o.wait_ms = std::stol(argv[++i]);
        } else if (flag == "--batch" && has_value) {
            o.batch = std::stol(argv[++i]);
        } else if (flag == "--oversize-job" && has_value) {
            o.oversize_job = std::stol(argv[++i]);
        } else {
            std::cerr << "adashta-test-worker: unknown or incomplete flag " << flag << "\n";
            return false;
        }
    }
    if (o.consume == (o.produce > 0)) {
        std::cerr << "adashta-test-worker: give --consume or --produce N\n";
        return false;
    }
    return true;
}

// "job-I", or for --oversize-job I that padded to 70,000 bytes (the default maxsize is 65,536).
std::string body_of(long i, const WorkerOptions& o) {
    std::string body = "job-" + std::to_string(i);
    if (i == o.oversize_job) body.resize(70'000, 'x');
    return body;
}

// send_messages o.batch at a time.
bool produce_batches(adashta::WorkQueues& jobs, const WorkerOptions& o) {
    std::vector<std::string> bodies;
    for (long i = 0; i < o.produce;) {
        bodies.clear();
        for (; i < o.produce && static_cast<long>(bodies.size()) < o.batch; ++i)
            bodies.push_back(body_of(i, o));
        auto ids = jobs.send_messages(o.queue, bodies);
        if (!ids) {
            print_line("error " + ids.error().to_string());
            return false;
        }
        if (ids->size() != bodies.size()) {
            print_line("error " + std::to_string(ids->size()) + " ids for " +
                       std::to_string(bodies.size()) + " jobs");
            return false;
        }
        for (std::size_t k = 0; k < ids->size(); ++k)
            print_line("sent " + (*ids)[k] + " " + bodies[k]);
    }
    return true;
}

int produce(adashta::WorkQueues& jobs, const WorkerOptions& o) {
    const auto started = std::chrono::steady_clock::now();
    if (o.batch > 0 && !produce_batches(jobs, o)) return 1;
    for (long i = 0; o.batch == 0 && i < o.produce; ++i) {
        const std::string body = body_of(i, o);
        auto id = jobs.send_message(o.queue, body);
        if (!id) {
            print_line("error " + id.error().to_string());
            return 1;
        }
        print_line("sent " + *id + " " + body);
    }
    const auto took =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    print_line("produced " + std::to_string(o.produce) + " " + std::to_string(took.count()));
    return 0;
}

std::string job_line(const adashta::Job& j, std::int64_t before, std::int64_t after,
                     const WorkerOptions& o) {
    return "job " + j.id + " " + std::to_string(j.rc) + " " + std::to_string(j.sent_ms) + " " +
           std::to_string(j.fr_ms) + " " + std::to_string(before) + " " + std::to_string(after) +
           " " + o.name + " " + j.message;
}

// receive_messages up to o.batch, then one delete_messages for those not kept.
void consume_batches(adashta::WorkQueues& jobs, const WorkerOptions& o,
                     const adashta::ReceiveOptions& receive, const std::atomic<bool>& stop) {
    long received = 0;
    bool last_was_empty = true;
    while (!stop) {
        if (last_was_empty) print_line("receiving " + std::to_string(wall_ms()));
        const std::int64_t before = wall_ms();
        auto got = jobs.receive_messages(o.queue, static_cast<std::size_t>(o.batch), receive);
        const std::int64_t after = wall_ms();
        if (!got) {
            print_line("error " + got.error().to_string());
            std::this_thread::sleep_for(milliseconds{100});  // a failing edge: do not spin
            last_was_empty = true;
            continue;
        }
        last_was_empty = got->empty();
        if (got->empty()) continue;
        print_line("received " + std::to_string(got->size()));
        std::vector<bool> keep;
        std::vector<std::string> ids;
        for (const auto& j : *got) {
            keep.push_back(o.forget_every > 0 && ++received % o.forget_every == 0);
            if (!keep.back()) ids.push_back(j.id);
        }
        auto deleted = jobs.delete_messages(o.queue, ids);
        const std::int64_t done = wall_ms();
        if (!deleted) print_line("error " + deleted.error().to_string());
        std::size_t next = 0;  // index into ids / *deleted
        for (std::size_t k = 0; k < got->size(); ++k) {
            const adashta::Job& j = (*got)[k];
            print_line(job_line(j, before, after, o));
            if (keep[k]) {
                print_line("kept " + j.id);
            } else if (deleted) {
                const bool was = next < deleted->size() && (*deleted)[next];
                ++next;
                print_line("deleted " + j.id + (was ? " true " : " false ") + std::to_string(done));
            }
        }
    }
}

void consume(adashta::WorkQueues& jobs, const WorkerOptions& o, const std::atomic<bool>& stop) {
    adashta::ReceiveOptions receive{.wait = milliseconds{o.wait_ms}};
    if (o.vt_ms) receive.vt = milliseconds{*o.vt_ms};
    if (o.batch > 0) return consume_batches(jobs, o, receive, stop);
    long received = 0;
    bool last_was_empty = true;
    while (!stop) {
        if (last_was_empty) print_line("receiving " + std::to_string(wall_ms()));
        const std::int64_t before = wall_ms();
        auto job = jobs.receive_message(o.queue, receive);
        const std::int64_t after = wall_ms();
        if (!job) {
            print_line("error " + job.error().to_string());
            std::this_thread::sleep_for(milliseconds{100});  // a failing edge: do not spin
            last_was_empty = true;
            continue;
        }
        last_was_empty = !*job;
        if (!*job) continue;
        const adashta::Job& j = **job;
        ++received;
        print_line(job_line(j, before, after, o));
        if (o.forget_every > 0 && received % o.forget_every == 0) {
            print_line("kept " + j.id);
            continue;
        }
        auto deleted = jobs.delete_message(o.queue, j.id);
        if (!deleted) {
            print_line("error " + deleted.error().to_string());
            continue;
        }
        print_line("deleted " + j.id + (*deleted ? " true " : " false ") +
                   std::to_string(wall_ms()));
    }
}

}  // namespace

int main(int argc, char** argv) {
    WorkerOptions o;
    try {
        if (!parse(argc, argv, o)) return 2;
    } catch (const std::exception&) {  // std::stol on a flag value that is not a number
        std::cerr << "adashta-test-worker: a numeric flag has a value that is not a number\n";
        return 2;
    }
    adashta::NodeOptions options = adashta::NodeOptions::from_env();
    options.name = o.name;
    adashta::Node node{options};
    if (auto started = node.start(); !started) {
        std::cerr << o.name << ": " << started.error().to_string() << "\n";
        return 1;
    }
    if (!node.wait_for_edges(1, std::chrono::seconds{10})) {
        std::cerr << o.name << ": no edge answered within 10 s\n";
        return 1;
    }
    print_line("ready " + o.name);
    adashta::WorkQueues jobs{node};
    if (o.produce > 0) return produce(jobs, o);

    std::atomic<bool> stop{false};
    std::thread worker{[&] { consume(jobs, o, stop); }};
    adashta::wait_for_signal();
    stop = true;
    // A receive may be parked at the edge for its whole wait, and Node::stop() does not end
    // it: leave the mesh (peers hear Bye), print the last line, and exit without waiting.
    node.stop();
    std::lock_guard lock{out_mutex};  // no line is cut in half
    std::cout << "stopped " << o.name << std::endl;
    worker.detach();
    std::_Exit(0);
}
