// RSMQ-style work queues between server nodes (background jobs), stored in SQLite.
//
// A node sends a job, optionally delayed; another receives it, and the job is then hidden
// from every other receiver for the visibility timeout (vt); the receiver deletes it when
// done. A job that is not deleted in time becomes visible again, with its receive count
// raised, so it reaches another receiver: one receiver within the visibility timeout,
// at-least-once overall. Operations and meanings follow RSMQ (createQueue, sendMessage,
// receiveMessage, deleteMessage, popMessage, changeMessageVisibility, getQueueAttributes,
// setQueueAttributes, listQueues, deleteQueue), with every time in milliseconds.
//
//   auto wq = WorkQueues::open(*db);                 // creates the wq_ tables if missing
//   Transaction tx{*db};                             // the caller's transaction
//   (void)wq->create_queue("jobs", {.vt_ms = 5000}, now);
//   auto id = wq->send("jobs", R"({"resize":"a.png"})", std::nullopt, now);
//   auto job = wq->receive("jobs", std::nullopt, now);      // Result<optional<...>>
//   if (job && *job) (void)wq->delete_message("jobs", (*job)->id);
//   (void)tx.commit();
//
// Contracts that hold for every method:
// - Transactions belong to the caller (group commit): each method runs inside a transaction
//   the caller has open on the same Db, and never begins, commits or rolls back. Nothing a
//   method did is durable before the caller commits, so answer a requester (an id, a
//   received message, "deleted") only once the commit succeeded: a receive or pop that was
//   rolled back never happened, and its message stays. After a storage_* error, roll the
//   transaction back (SQLite may already have done so on SQLITE_FULL); after any other
//   error nothing was written and the transaction can go on.
// - Time comes in as now_ms (milliseconds since the Unix epoch); nothing here reads the
//   clock or sleeps. A message becomes visible at exactly visible_at = now + delay (or
//   now + vt after a receive): it is receivable when visible_at <= now_ms.
// - Errors: bad_queue (invalid name), unknown_queue, queue_exists, bad_timeout (a vt or
//   delay below 0 or above its maximum), bad_option (maxsize out of range, nothing to set),
//   message_too_large, unknown_message, and the store's storage_full / storage_failed.
// - Not thread-safe: like its Db, a WorkQueues belongs to one thread (the store thread).
//
// Long-poll receive (for the layer that serves receive over the mesh): when receive()
// finds nothing, next_visible_ms() says when the earliest hidden message becomes visible;
// wait until then (capped by the caller's wait time), or until a send() or
// change_visibility() on the same queue commits, then receive() again. delete_queue()
// should wake the waiters too: their next receive() says unknown_queue.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "adashta/result.hpp"
#include "adashta/store/sqlite.hpp"

namespace adashta::store {

// A queue's settings, given to create_queue. Defaults are RSMQ's (30 s, 0 s, 64 KiB).
struct QueueOptions {
    static constexpr std::int64_t kMaxVtMs = 12LL * 60 * 60 * 1000;           // 12 hours
    static constexpr std::int64_t kMaxDelayMs = 365LL * 24 * 60 * 60 * 1000;  // 365 days
    static constexpr std::int64_t kUnlimited = -1;                            // maxsize: no limit
    static constexpr std::int64_t kMinMaxsize = 1024;                         // bytes
    static constexpr std::int64_t kMaxMaxsize = 64LL * 1024 * 1024;           // 64 MiB

    std::int64_t vt_ms = 30000;    // a received message stays hidden this long, 0..kMaxVtMs
    std::int64_t delay_ms = 0;     // a new message stays hidden this long, 0..kMaxDelayMs
    std::int64_t maxsize = 65536;  // largest body in bytes: kMinMaxsize..kMaxMaxsize, or -1
                                   // for no limit of the queue's own (SQLite's 1 GB stays)
    std::int64_t max_receive = 0;  // receives a message gets; the next receive moves it to
                                   // dead_letter (or drops it). 0: no limit
    std::string dead_letter;       // queue for messages past max_receive (created if missing)
};

// The settings set_queue_attributes changes; fields left empty stay as they are.
struct QueueOptionChanges {
    std::optional<std::int64_t> vt_ms;        // new visibility timeout
    std::optional<std::int64_t> delay_ms;     // new delay for messages sent from now on
    std::optional<std::int64_t> maxsize;      // new size limit for messages sent from now on
    std::optional<std::int64_t> max_receive;  // new receive limit
    std::optional<std::string> dead_letter;   // new dead-letter queue ("" = drop)
};

// What getQueueAttributes reports, at the now_ms it was asked for.
struct QueueAttributes {
    std::int64_t vt_ms = 0;        // visibility timeout
    std::int64_t delay_ms = 0;     // delay of new messages
    std::int64_t maxsize = 0;      // largest body in bytes, -1 for unlimited
    std::int64_t totalrecv = 0;    // receives (and pops) since the queue was created
    std::int64_t totalsent = 0;    // messages sent since the queue was created
    std::int64_t created_ms = 0;   // when create_queue ran
    std::int64_t modified_ms = 0;  // when set_queue_attributes last ran (created_ms before)
    std::int64_t msgs = 0;         // messages in the queue, hidden or not
    std::int64_t hiddenmsgs = 0;   // of those, not receivable now (delayed or in flight)
    std::int64_t max_receive = 0;  // receives before dead-lettering, 0 = no limit
    std::string dead_letter;       // where messages past max_receive go, "" = dropped
    std::int64_t totaldead = 0;    // messages dead-lettered (or dropped) since creation
};

// One message handed to a receiver.
struct ReceivedMessage {
    std::string id;            // the id send() returned; give it to delete_message()
    std::string body;          // the bytes sent, unchanged
    std::int64_t sent_ms = 0;  // when it was sent
    std::int64_t fr_ms = 0;    // when it was first received (this receive, if rc is 1)
    std::int64_t rc = 0;       // how many times it has been received, this time included
};

class WorkQueues {
public:
    // Creates the wq_ tables if missing and prepares every statement. Runs in the caller's
    // transaction if one is open, else in its own. Fails with storage_* errors, or with
    // storage_failed when the tables were written by a newer schema version.
    // db must outlive the returned object.
    static Result<std::unique_ptr<WorkQueues>> open(Db& db);
    ~WorkQueues();
    WorkQueues(const WorkQueues&) = delete;
    WorkQueues& operator=(const WorkQueues&) = delete;

    // createQueue. queue_exists if name is taken.
    Status create_queue(std::string_view name, const QueueOptions& options, std::int64_t now_ms);
    // deleteQueue: the queue and all its messages, in one statement each (O(messages)).
    Status delete_queue(std::string_view name);
    // listQueues, sorted by name.
    Result<std::vector<std::string>> list_queues();
    // getQueueAttributes. O(messages in the queue): msgs and hiddenmsgs are counted.
    Result<QueueAttributes> queue_attributes(std::string_view name, std::int64_t now_ms);
    // setQueueAttributes: changes the given settings, sets modified_ms = now_ms, and returns
    // the attributes after the change. bad_option if changes is empty. New settings apply
    // to later sends and receives; messages already stored keep their size and timers.
    Result<QueueAttributes> set_queue_attributes(std::string_view name,
                                                 const QueueOptionChanges& changes,
                                                 std::int64_t now_ms);

    // sendMessage: stores body (any bytes), hidden until now_ms + delay (delay_ms, else the
    // queue's delay), and returns its new id (adashta::new_message_id()).
    // message_too_large if body is larger than the queue's maxsize.
    Result<std::string> send(std::string_view name, std::string_view body,
                             std::optional<std::int64_t> delay_ms, std::int64_t now_ms);
    // receiveMessage: a message that has been received max_receive times already is moved
    // to the dead-letter queue (or dropped) instead, and the next one is taken.
    // Takes the message that has been visible longest (earliest
    // visible_at, then the earliest sent), hides it until now_ms + vt (vt_ms, else the
    // queue's vt), raises its rc and the queue's totalrecv. Empty when nothing is visible.
    // O(log messages).
    Result<std::optional<ReceivedMessage>> receive(std::string_view name,
                                                   std::optional<std::int64_t> vt_ms,
                                                   std::int64_t now_ms);
    // popMessage: receive and delete in one step (rc and totalrecv count it as a receive).
    Result<std::optional<ReceivedMessage>> pop(std::string_view name, std::int64_t now_ms);
    // deleteMessage: true if the message was in the queue and is now gone, false if it was
    // not there (never sent, deleted or popped already, or in another queue). As in RSMQ,
    // an unknown id is an answer, not an error, so a retried delete is harmless.
    Result<bool> delete_message(std::string_view name, std::string_view id);
    // Batches, for callers that move many jobs per request: the same as a loop of send(),
    // receive() or delete_message(), with the queue looked up and its counters written once.
    // send_batch returns the new ids in order, or the first error (jobs stored before it
    // stay unless the caller rolls back). receive_batch takes up to max messages; fewer
    // (none) when no more are visible.
    Result<std::vector<std::string>> send_batch(std::string_view name,
                                                std::span<const std::string> bodies,
                                                std::optional<std::int64_t> delay_ms,
                                                std::int64_t now_ms);
    Result<std::vector<ReceivedMessage>> receive_batch(std::string_view name, std::size_t max,
                                                       std::optional<std::int64_t> vt_ms,
                                                       std::int64_t now_ms);
    Result<std::vector<bool>> delete_batch(std::string_view name, std::span<const std::string> ids);
    // changeMessageVisibility: the message becomes visible at now_ms + vt_ms, whether it was
    // hidden or not (vt_ms 0 releases it at once). unknown_message if id is not in the queue.
    Status change_visibility(std::string_view name, std::string_view id, std::int64_t vt_ms,
                             std::int64_t now_ms);

    // When the next message of the queue becomes receivable: the earliest visible_at of its
    // messages, empty if the queue holds none. A value <= now means one is receivable now;
    // right after receive() found nothing at now it is the first time worth retrying.
    // O(log messages).
    Result<std::optional<std::int64_t>> next_visible_ms(std::string_view name);

private:
    struct Statements;  // every prepared statement, made once by open()
    struct QueueRow {
        std::int64_t id = 0;           // wq_queues.id, wq_messages.queue
        std::int64_t vt_ms = 0;        // the queue's settings, as stored
        std::int64_t delay_ms = 0;     //
        std::int64_t maxsize = 0;      //
        std::int64_t max_receive = 0;  //
        std::string dead_letter;       //
    };
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };

    WorkQueues(Db& db, std::int64_t epoch);
    // The queue's row from the cache, else from the table (then cached). bad_queue or
    // unknown_queue when there is none.
    Result<QueueRow> find(std::string_view name);
    // Drops the cache if a rollback undid a create/set/delete it had seen (see .cpp).
    Status check_epoch();
    Status bump_epoch();
    // Up to max messages, each received (or popped, when remove) as receive() says.
    Result<std::vector<ReceivedMessage>> take(std::string_view name, std::size_t max,
                                              std::optional<std::int64_t> vt_ms,
                                              std::int64_t now_ms, bool remove);
    Result<std::string> insert(const QueueRow& queue, std::string_view name, std::string_view body,
                               std::optional<std::int64_t> delay_ms, std::int64_t now_ms);
    Result<std::vector<std::string>> send_batch(std::string_view name,
                                                std::span<const std::string_view> bodies,
                                                std::optional<std::int64_t> delay_ms,
                                                std::int64_t now_ms);
    Status dead_letter(const QueueRow& queue, std::int64_t seq, const ReceivedMessage& message,
                       std::int64_t now_ms);
    Result<QueueAttributes> attributes_of(const QueueRow& queue, std::int64_t now_ms);

    Db& db_;
    std::unique_ptr<Statements> sql_;
    // name -> row, for queues used since the last change of epoch_.
    std::unordered_map<std::string, QueueRow, NameHash, std::equal_to<>> cache_;
    std::int64_t epoch_;  // wq_meta's epoch the cache was filled under
};

}  // namespace adashta::store
