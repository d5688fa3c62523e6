// The edge's durable streams: every queue is an append-only stream of messages with offsets
// 1, 2, 3, ... that are never reused, kept for the queue's retention time and up to its
// maximum count. On top of the stream:
// - client -> server messages wait in `pending` until a node acknowledges them, and are
//   delivered again after the visibility timeout (take_due / ack), up to max_receive times,
//   then moved to the dead-letter queue;
// - server -> client messages for later (deliver_at in the future) wait in `scheduled` and
//   enter the stream, with their offset, when they are due (take_scheduled);
// - clients read what they missed, in offset order, seeing messages for everyone and their
//   own (read), and learn about gaps retention made (oldest_offset).
//
//   auto streams = Streams::open(*db);            // creates the tables if missing
//   Transaction tx{*db};                          // the caller's group commit
//   StoredMessage m{.id = new_message_id(), .queue = "orders", .client = session,
//                   .data = R"({"sku":1})"};
//   auto offset = streams->append(m, now_ms());   // 1, 2, ...
//   auto due = streams->take_due(now_ms(), 100);  // deliver due->due, then ack(id) each
//   (void)tx.commit();                            // only now is any of it durable
//
// Contracts that hold for every method:
// - Transactions belong to the caller: methods never BEGIN or COMMIT, and nothing is
//   durable, nor may be acknowledged to anyone, before the caller's COMMIT succeeds. Reads
//   see this connection's uncommitted writes. Called outside a transaction, each method is
//   its own transaction.
// - A method that fails has changed nothing anyone can see, and the caller's transaction
//   can go on (unless SQLite rolled all of it back, as it may on storage_full; ask
//   sqlite3_get_autocommit). Methods that write several rows run under a SAVEPOINT of their
//   own; append(), the hot path, orders its writes instead, so a failure part-way leaves at
//   most an offset that no message gets and a pending entry that take_due() discards.
// - Time comes in as now_ms (ms since the Unix epoch); nothing here reads the clock. A
//   time t has come when t <= now_ms, so nothing is delivered early.
// - Ids: a message id is unique within its queue; appending an id the queue already holds
//   returns the stored message's offset and stores nothing (a producer's retry after a
//   lost ack). ack / extend / release / cancel find a message by id alone: the edge gives
//   client messages fresh ids, so an id names one message (if two queues did hold the same
//   id, these act on both).
// - Errors come from the catalogue: bad_queue, bad_session, bad_frame, bad_timeout,
//   message_too_large, unknown_message, storage_full / storage_corrupt / storage_failed.
// - Nothing is cached between calls except which queues may need trimming, so the caller
//   may roll back to savepoints of its own at will. Not thread-safe: a Streams belongs to
//   the thread that owns its Db.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "adashta/result.hpp"
#include "adashta/store/queue_settings.hpp"
#include "adashta/store/sqlite.hpp"

namespace adashta::store {

// Most messages one read() returns.
inline constexpr std::size_t kMaxRead = 1000;
// Longest message id, in bytes.
inline constexpr std::size_t kMaxIdBytes = 128;

enum class Direction : int {
    to_server = 0,  // a client's message for a node; waits in pending until acknowledged
    to_client = 1,  // a node's message for one client
    to_all = 2,     // a node's message for every client consuming the queue
    to_user = 3,    // a node's message for every session of one user (client: "u:" + user)
};

// The client column of a to_user message: session ids start "s-", so the two never meet.
std::string user_key(std::string_view user);

struct StoredMessage {
    std::string id;           // unique within the queue; see "Ids" above
    std::string queue;        // the stream it belongs to
    std::int64_t offset = 0;  // its place in the stream, from 1; 0 while scheduled
    Direction direction = Direction::to_server;  // who it is for
    std::string client;  // sender (to_server), target session (to_client), "" (to_all), the
                         // target user (to_user: append() stores user_key(user), read() gives
                         // that back)
    std::string data;                // JSON text, stored as given
    std::int64_t created_ms = 0;     // when it was produced; append() sets now_ms if 0
    std::int64_t deliver_at_ms = 0;  // not delivered before this; 0 = at once
};

// What a message costs a page bounded by ReadFilter::max_bytes: its data and id, and about
// what an answer frame adds around them.
inline std::size_t read_cost(const StoredMessage& m) { return m.data.size() + m.id.size() + 64; }

// What read() returns: offset order, never more than kMaxRead.
struct ReadFilter {
    std::int64_t from_offset = 0;    // first offset wanted; 0 = the oldest retained
    std::int64_t since_ms = 0;       // > 0: only messages stored at or after this time
    std::size_t limit = 100;         // most messages wanted; capped at kMaxRead
    // > 0: the page stops before its messages pass this many bytes (read_cost each), so a
    // page costs a bounded amount however large the messages; the first always comes.
    std::size_t max_bytes = 0;
    std::string session;             // the reading client: sees to_all and its own to_client
    std::string user;                // and, when not empty, to_user messages for this user
    bool everything = false;         // a server-side reader: every direction, every client
    bool include_scheduled = false;  // with everything: also to_server messages not yet due
};

// A client message to hand to a node, or one that used up its receives.
struct Due {
    StoredMessage message;           // direction to_server; client is the sender
    std::int64_t receive_count = 0;  // deliveries so far, this one included
    std::string moved_to;            // dead-lettered only: the queue it went to ("" = dropped)
};

struct DueBatch {
    std::vector<Due> due;            // deliver each to a node; ack() when the node acks
    std::vector<Due> dead_lettered;  // received max_receive times already: moved or dropped
};

// A queue the store knows: one that was configured or has had a message.
struct QueueInfo {
    std::string name;              // the queue's name
    QueueSettings settings;        // the settings in force
    bool configured = false;       // set by set_settings(), not the defaults
    std::int64_t next_offset = 1;  // the offset the next message will get
};

class Streams {
public:
    // Creates the tables if missing (schema version 1, kept in `meta`) and prepares every
    // statement. `defaults` are the settings of queues nobody configured (validated by the
    // caller). Runs in the caller's transaction if one is open, else in its own.
    // storage_corrupt when the database was written by a newer Adashta or its tables have a
    // shape this build does not know. db must outlive the Streams.
    static Result<std::unique_ptr<Streams>> open(Db& db, QueueSettings defaults = {});
    ~Streams();
    Streams(const Streams&) = delete;
    Streams& operator=(const Streams&) = delete;

    // --- settings ---------------------------------------------------------------------
    // The queue's settings, or the defaults if it was never configured (or the store cannot
    // read, in which case the caller's next write fails and says why). One indexed lookup.
    QueueSettings settings(std::string_view queue);
    // Stores the queue's settings (validated: bad_queue, bad_timeout, bad_option). They
    // apply at once to reads, receives and max_messages; a new retention applies to
    // messages appended from now on (messages expire in offset order, so a shorter
    // retention takes effect once the older messages have gone).
    Status set_settings(std::string_view queue, const QueueSettings& settings);
    // Every known queue, by name.
    Result<std::vector<QueueInfo>> queues();

    // --- writing ----------------------------------------------------------------------
    // Stores `message` and returns its offset, also written to message.offset. Sets
    // created_ms (if 0) and deliver_at_ms (the queue's delay, if it was 0) in `message`.
    // - to_server: gets a pending entry, visible at deliver_at (or now).
    // - to_client / to_all due now: enters the stream; deliver it to the clients online.
    // - to_client / to_all with deliver_at in the future: waits in `scheduled` and gets its
    //   offset when take_scheduled() returns it; append returns 0.
    // A queue need not exist first. A duplicate id returns the first copy's offset (0 if
    // it is still scheduled) and changes nothing.
    // Errors: bad_queue, bad_frame (empty or too long id), bad_session (to_client without
    // a valid target), bad_timeout (deliver_at beyond 365 days, or a to_server deliver_at
    // beyond the queue's retention, which would expire it before it is due),
    // message_too_large (data over max_message_bytes), storage_*.
    // client_schedule is the caller's rule: append stores the deliver_at it is given.
    // With hand_out, a new to_server message that is due now is taken at once, as
    // take_due() would take it (received once, hidden for the queue's visibility timeout),
    // and added to *hand_out: the caller delivers it once the transaction committed,
    // without a second write to take it.
    Result<std::int64_t> append(StoredMessage& message, std::int64_t now_ms,
                                std::vector<Due>* hand_out = nullptr);

    // --- client -> server work ----------------------------------------------------------
    // Takes up to `limit` pending messages whose visible_at <= now_ms, earliest first (then
    // by queue and offset). Each one's receive count goes up by one and it stays hidden
    // until now_ms + its queue's visibility timeout. A message that was already received
    // max_receive times (when that is > 0) is not delivered again: it leaves pending and is
    // appended to the queue's dead-letter queue as a new to_server message with the same
    // id, client and data (or, without a dead-letter queue, stays in the stream only), and
    // is listed in dead_lettered.
    Result<DueBatch> take_due(std::int64_t now_ms, std::size_t limit);
    // A node acknowledged the message: it leaves pending (it stays in the stream).
    // unknown_message when it is not pending: acknowledged already (a duplicate), expired,
    // dead-lettered, or never there. Callers may treat that as harmless.
    Status ack(std::string_view id);
    // Changes when a pending message is next due (a longer visibility, or 0-now to release
    // it at once); the receive count stays. unknown_message when it is not pending.
    Status extend(std::string_view id, std::int64_t visible_at_ms);
    // Undoes a take_due() the caller could not deliver (no node could take it): the receive
    // count goes back down by one and the message is due again at visible_at_ms.
    // unknown_message when it is not pending.
    Status release(std::string_view id, std::int64_t visible_at_ms);
    // Pending messages of the queue, in flight or waiting. O(count).
    Result<std::int64_t> pending_count(std::string_view queue);
    // The earliest visible_at of any pending message; empty when none. Sleep until then.
    Result<std::optional<std::int64_t>> next_due_ms();

    // --- scheduled server -> client messages ------------------------------------------
    // Up to `limit` scheduled messages whose deliver_at <= now_ms, in deliver_at order
    // (then the order they were appended), each now appended to its stream with an offset;
    // deliver them to the clients online (the others read them when they come back).
    Result<std::vector<StoredMessage>> take_scheduled(std::int64_t now_ms, std::size_t limit);
    // The earliest deliver_at in `scheduled`; empty when none.
    Result<std::optional<std::int64_t>> next_scheduled_ms();
    // Cancels a message that was not delivered yet: a scheduled to_client / to_all one, or a
    // to_server one that no node has received yet (scheduled or waiting for a consumer). It
    // is removed entirely, so a later read() never shows it. unknown_message when there is
    // nothing to cancel: delivered already, or unknown.
    Status cancel(std::string_view id);

    // --- reading ----------------------------------------------------------------------
    // The queue's retained messages from filter.from_offset (or the first stored at or
    // after since_ms), in offset order, at most min(limit, kMaxRead) and max_bytes. A client
    // reader sees to_all messages and to_client messages for filter.session only; expired and
    // messages beyond max_messages are never returned, even before expire() deleted them.
    // An unknown queue reads as empty. bad_queue for an invalid name.
    Result<std::vector<StoredMessage>> read(std::string_view queue, const ReadFilter& filter,
                                            std::int64_t now_ms);
    // The lowest offset from which nothing has been lost to retention: a reader that asks
    // for offsets from F < oldest_offset has a gap [F, oldest_offset - 1] and must be told
    // (the gap may hold messages that were not for it; it cannot hold any it can still
    // read). next_offset when nothing is retained; 1 for an unknown queue. O(log n).
    Result<std::int64_t> oldest_offset(std::string_view queue, std::int64_t now_ms);
    // The offset the queue's next message will get; 1 for an unknown queue. A reader that
    // read to the end can resume from here without being told about gaps that were never
    // its messages.
    Result<std::int64_t> next_offset(std::string_view queue);

    // --- retention --------------------------------------------------------------------
    // Deletes at most `budget` messages that are past their retention time or beyond their
    // queue's max_messages (oldest first), with pending entries of the deleted ones, using
    // index range deletes only. Returns how many it deleted; when that equals budget there
    // may be more, so call again (in a later transaction, to let writes in between).
    Result<std::size_t> expire(std::int64_t now_ms, std::size_t budget);

    // Counts the calls that may change what is due or scheduled (append, ack, extend,
    // release, cancel, set_settings, expire), failed ones too: the store looks for due
    // messages after a transaction only when this moved or the next due time came.
    std::uint64_t writes() const { return writes_; }

private:
    struct Statements;        // every prepared statement, made once by open()
    class Savepoint;          // SAVEPOINT ... RELEASE around one call that writes several rows
    struct QueueRow {         // a queues row, as the methods need it
        std::int64_t id = 0;  // queues.queue_id, used by the other tables
        std::int64_t next_offset = 1;      // the offset of the queue's next message
        QueueSettings settings;            // configured, or the defaults
        std::optional<std::int64_t> copy;  // find_queue(q, id): offset of that id (0: scheduled)
    };

    Streams(Db& db, QueueSettings defaults);
    // The settings columns of the current row of s, from `column` (queues.configured) on.
    QueueSettings settings_at(const Statement& s, int column) const;
    // The queue's row, empty if the queue is unknown; with copy_of, also where a message of
    // that id is in the queue.
    Result<std::optional<QueueRow>> find_queue(std::string_view queue,
                                               std::string_view copy_of = {});
    Result<std::int64_t> create_queue(std::string_view queue);  // its queue_id
    // Puts m (checked by the caller) into the stream of queue `id` with a new offset, and a
    // pending entry if it is to_server (taken: received once and hidden for the visibility
    // timeout, as take_due() leaves it); returns the offset, also set in m.
    Result<std::int64_t> store_in_stream(std::int64_t id, const QueueSettings& settings,
                                         StoredMessage& m, std::int64_t now_ms, bool taken = false);
    // Appends a message that used up max_receive to `target` ("" = drop it).
    Status dead_letter(Due& due, const std::string& target, std::int64_t now_ms);
    // Columns of messages that never decrease along a stream.
    enum class Ordered { time_ms, expires_ms, start_bytes };
    // The first offset in [from, end) from which every message's column is at least
    // at_least (binary search: O(log n) lookups). It may be the start of a gap.
    Result<std::int64_t> first_offset_where(std::int64_t id, std::int64_t from, std::int64_t end,
                                            Ordered column, std::int64_t at_least);
    // The offset of the queue's oldest message that has not expired; end if none.
    Result<std::int64_t> first_live(std::int64_t id, std::int64_t end, std::int64_t now_ms);
    Result<std::int64_t> oldest_of(const QueueRow& queue, std::int64_t now_ms);
    // The first offset in [1, end) within the queue's newest max_bytes of data (1 when it
    // holds no more, or max_bytes is 0).
    Result<std::int64_t> first_within_bytes(std::int64_t id, std::int64_t end,
                                            std::int64_t max_bytes);
    Result<std::size_t> expire_by_time(std::int64_t now_ms, std::size_t budget);
    Result<std::size_t> expire_by_count(std::size_t budget);
    Result<std::size_t> expire_by_bytes(std::size_t budget);
    // (queue id, next offset, settings): whether the queue may be over a limit; where the
    // messages within it start.
    using QueueTest = std::function<bool(std::int64_t, std::int64_t, const QueueSettings&)>;
    using CutOf =
        std::function<Result<std::int64_t>(std::int64_t, std::int64_t, const QueueSettings&)>;
    // Trims the queues of `over` (first filled from the table by may_be_over while `seed`)
    // below cut_of, up to budget messages; drops from `over` the queues left within.
    Result<std::size_t> trim_over(std::unordered_set<std::int64_t>& over, bool& seed,
                                  std::size_t budget, const QueueTest& may_be_over,
                                  const CutOf& cut_of);

    Db& db_;
    std::unique_ptr<Statements> sql_;
    QueueSettings defaults_;  // settings of queues nobody configured
    // Queues that may hold more than max_messages; expire() trims them. A superset is fine
    // (a queue that is not over is dropped from it), so rollbacks cannot make it wrong.
    std::unordered_set<std::int64_t> over_count_;
    bool seed_over_count_ = true;  // fill over_count_ from the table at the first expire()
    // The same for max_bytes: queues with one that may hold more data than it.
    std::unordered_set<std::int64_t> over_bytes_;
    bool seed_over_bytes_ = true;
    std::uint64_t writes_ = 0;     // see writes()
};

}  // namespace adashta::store
