// adashta::WorkQueues — RSMQ-style work queues between server nodes, kept by the edge's
// store. A job sent to a queue is received by one receiver and hidden from the others for
// the visibility timeout; if it is not deleted by then, it comes back (rc counts how often
// it was received). Same operations and meanings as RSMQ; times in milliseconds.
//
//   adashta::WorkQueues jobs{node};                        // a started Node
//   (void)jobs.create_queue("thumbnails", {.vt = 30s});
//   auto id = jobs.send_message("thumbnails", "photo-17.png");
//   // in a worker thread:
//   auto job = jobs.receive_message("thumbnails", {.wait = 20s});   // long poll
//   if (job && *job) { make_thumbnail((*job)->message); (void)jobs.delete_message("thumbnails",
//   (*job)->id); }
//
// Every call blocks for the edge's answer (from a handler too, delaying the messages
// behind it). To move many jobs per round trip, send_messages, receive_messages and
// delete_messages take or give up to kMaxBatch jobs in one call:
//
//   auto ids = jobs.send_messages("thumbnails", {"a.png", "b.png", "c.png"});
//   auto got = jobs.receive_messages("thumbnails", 100, {.wait = 20s});
//   // ... work on *got, then delete the ids of the jobs done:
//   jobs.delete_messages("thumbnails", done_ids);
// Errors: unknown_queue, queue_exists, bad_queue, bad_timeout,
// bad_option, message_too_large, no_edge, timed_out, storage_*.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/node.hpp"

namespace adashta {

struct WorkQueueOptions {
    std::optional<std::chrono::milliseconds> vt{};   // visibility timeout (default 30 s)
    std::optional<std::chrono::milliseconds> delay{};  // new jobs stay hidden this long (0)
    std::optional<std::int64_t> maxsize{};           // largest job in bytes (65536; -1: no limit)
    std::optional<std::int64_t> max_receive{};       // receives before dead-lettering (0: none)
    std::optional<std::string> dead_letter{};        // queue for jobs past max_receive
};

struct WorkQueueAttributes {
    std::int64_t vt_ms = 0;
    std::int64_t delay_ms = 0;
    std::int64_t maxsize = 0;
    std::int64_t totalrecv = 0;  // receives since the queue was created
    std::int64_t totalsent = 0;  // jobs sent since the queue was created
    std::int64_t created_ms = 0;
    std::int64_t modified_ms = 0;
    std::int64_t msgs = 0;         // jobs in the queue
    std::int64_t hiddenmsgs = 0;   // of those, not receivable now (delayed or in flight)
    std::int64_t max_receive = 0;  // receives before dead-lettering, 0 = no limit
    std::string dead_letter{};     // where jobs past max_receive go ("" = dropped)
    std::int64_t totaldead = 0;    // jobs dead-lettered since the queue was created
};

struct Job {
    std::string id{};     // give it to delete_message
    std::string message{};  // what was sent
    std::int64_t sent_ms = 0;
    std::int64_t fr_ms = 0;  // first received
    std::int64_t rc = 0;     // times received, this one included
};

struct ReceiveOptions {
    std::optional<std::chrono::milliseconds> vt{};  // this receive's visibility timeout
    std::chrono::milliseconds wait{0};            // wait up to this long for a job (long poll)
};

class WorkQueues {
public:
    static constexpr std::size_t kMaxBatch = 1000;  // jobs or ids in one *_messages call

    explicit WorkQueues(Node& node) : node_(node) {}

    Status create_queue(std::string_view qname, const WorkQueueOptions& options = {});
    Status delete_queue(std::string_view qname);
    Result<std::vector<std::string>> list_queues();
    Result<WorkQueueAttributes> get_queue_attributes(std::string_view qname);
    Result<WorkQueueAttributes> set_queue_attributes(std::string_view qname,
                                                     const WorkQueueOptions& changes);
    // Returns the job's id.
    Result<std::string> send_message(std::string_view qname, std::string_view message,
                                     std::optional<std::chrono::milliseconds> delay = {});
    // Empty when no job came (within options.wait).
    Result<std::optional<Job>> receive_message(std::string_view qname,
                                               const ReceiveOptions& options = {});
    // Receive and delete in one step.
    Result<std::optional<Job>> pop_message(std::string_view qname,
                                           std::chrono::milliseconds wait = {});
    // True if it was there and is now gone; false if it was not there (a retried delete).
    Result<bool> delete_message(std::string_view qname, std::string_view id);

    // Batches: one round trip to the edge and one store transaction for many jobs. Each
    // takes 1 to kMaxBatch items (bad_option otherwise; an empty list returns an empty
    // answer without a call).
    // Sends every message, or none of them (the first error is returned): their ids in order.
    Result<std::vector<std::string>> send_messages(
        std::string_view qname, std::span<const std::string> messages,
        std::optional<std::chrono::milliseconds> delay = {});
    // Receives up to max jobs at once, each hidden for the visibility timeout as by
    // receive_message; waits up to options.wait for the first one. Empty when none came.
    Result<std::vector<Job>> receive_messages(std::string_view qname, std::size_t max,
                                              const ReceiveOptions& options = {});
    // Deletes each id; per id, as delete_message, whether it was there.
    Result<std::vector<bool>> delete_messages(std::string_view qname,
                                              std::span<const std::string> ids);

    Status change_message_visibility(std::string_view qname, std::string_view id,
                                     std::chrono::milliseconds vt);

private:
    Result<std::string> call(std::string_view op, std::string args,
                             std::chrono::milliseconds wait = {});
    Node& node_;
};

}  // namespace adashta
