// adashta::store::Store — the edge's durable state on one thread. It owns the SQLite
// database and runs every change in group-committed transactions: all the work that arrived
// while the previous commit ran goes into the next BEGIN IMMEDIATE ... COMMIT, each piece in
// its own savepoint so one bad request fails alone. A completion runs only after its
// transaction committed, so "done" means durable (against a crash of the process: WAL with
// synchronous=NORMAL; --durable adds fsync on every commit for power loss).
//
// In the same transactions the store hands out what has come due: client messages to
// deliver or redeliver to nodes (Events::on_due) and scheduled messages whose time came
// (Events::on_scheduled), and it expires old messages a bounded slice at a time.
//
//   auto store = Store::open({.path = "adashta-data/store.db"}, events);
//   (*store)->write([m](Tx& tx) mutable -> Status {
//                       if (auto offset = tx.streams.append(m, tx.now_ms); !offset)
//                           return offset.error();
//                       return {};
//                   },
//                   [](const Status& s) { /* committed, or why not */ });
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "adashta/result.hpp"
#include "adashta/store/plugin_rows.hpp"
#include "adashta/store/queue_settings.hpp"
#include "adashta/store/sqlite.hpp"
#include "adashta/store/streams.hpp"
#include "adashta/store/work_queues.hpp"

namespace adashta::store {

class Checkpointer;

struct StoreOptions {
    std::string path;                             // the SQLite file
    bool durable = false;                         // fsync every commit
    std::map<std::string, QueueSettings> queues;  // settings from the config file
    std::size_t expire_budget = 2000;             // rows one expiry slice may delete
    std::chrono::milliseconds expire_every{200};  // how often a slice runs
    std::size_t due_batch = 1000;                 // due messages handed out per batch
    // PRAGMA quick_check at open stops after this long (a large store is then checked in
    // part, and a warning says so); a problem it finds refuses the file (storage_corrupt).
    std::chrono::milliseconds check_budget{10'000};
    // The largest store.db may grow (0: no cap, only the disk's size). Past it new messages
    // are refused with storage_full, as on a full disk, until expiry frees room. (SQLite's
    // max_page_count: the write-ahead log is bounded apart, see Checkpointer.)
    std::uint64_t max_bytes = 0;
    int wal_force_frames = 16000;  // the log's bound in 4 KiB pages (Checkpointer); for tests
};

// What one piece of work sees: the store's parts, the batch's clock, and where to put
// client messages it takes at once (Streams::append's hand_out; null in reads): they go out
// with the batch's due messages after the commit (StoreEvents::on_due).
struct Tx {
    Streams& streams;
    WorkQueues& work;
    PluginRows& plugin_rows;  // the plugins' state (plugin_rows.hpp)
    std::int64_t now_ms;
    std::vector<Due>* hand_out = nullptr;
};

// How a piece of work is kept from leaving part of itself behind when it fails.
enum class Atomic {
    savepoint,  // the store runs it in a savepoint of its own (the default)
    ordered,    // it needs none: one statement, or writes ordered so that any prefix of them
                // is harmless (Streams::append, ack). Saves copying every page it touches.
};

// Callbacks from the store thread. They must not block: hand the work to another thread.
class StoreEvents {
public:
    virtual ~StoreEvents() = default;
    // Client messages whose (re)delivery time came; their receive counts are already counted.
    virtual void on_due(std::vector<Due> due) { (void)due; }
    // Server messages held for a later time whose time came, in time order.
    virtual void on_scheduled(std::vector<StoredMessage> messages) { (void)messages; }
    // Messages that used up their receives: moved to a dead-letter queue or dropped.
    virtual void on_dead_lettered(std::vector<Due> messages) { (void)messages; }
    // A round of the store thread (due timers, one transaction, the reads after it) has
    // run every completion and the thread is about to wait: the moment to send what those
    // completions gathered, together.
    virtual void on_round_end() {}
};

// One piece of work for a transaction, as Store::write takes it.
struct Write {
    std::function<Status(Tx&)> work;
    std::function<void(const Status&)> done;  // may be empty
    Atomic atomic = Atomic::savepoint;
};

// Writes that wait outside the store until a round has room for them (Store::feed_from): the
// store pulls a bounded number of them at the start of each round, after the writes handed to
// it directly, so one busy writer's backlog never makes a round long for everyone else. The
// feed decides which of its writes come first (the edge's FairFeed: round-robin by sender).
class WriteFeed {
public:
    virtual ~WriteFeed() = default;
    // Store thread, at the start of a round: appends up to `most` writes (and, past the first,
    // about `most_bytes` of their data at most) to into, in the order they must run. Returns
    // true when more writes wait, so that the next round follows at once.
    virtual bool take(std::size_t most, std::size_t most_bytes, std::vector<Write>& into) = 0;
};

struct StoreStats {
    std::atomic<std::uint64_t> commits{0};      // transactions committed
    std::atomic<std::uint64_t> writes{0};       // pieces of work committed
    std::atomic<std::uint64_t> failed{0};       // pieces of work that failed
    std::atomic<std::uint64_t> expired{0};      // rows removed by expiry
    std::atomic<std::uint64_t> redelivered{0};  // due messages with receive count > 1
};

class Store {
public:
    using Work = std::function<Status(Tx&)>;
    using Done = std::function<void(const Status&)>;

    // Opens or creates the database and applies the configured queue settings; start() then
    // starts the thread (so its events find their receivers ready: overdue work from before
    // a restart comes out in the first batch). Fails with storage_corrupt (not a database,
    // another program's database, pages that PRAGMA quick_check finds damaged, or a newer
    // schema), storage_full or storage_failed, with the path in the detail.
    static Result<std::unique_ptr<Store>> open(StoreOptions options, StoreEvents& events);
    ~Store();  // finishes the work already queued, then stops
    // Starts the store thread. Work written before runs in its first batch.
    void start();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Queues work for the next transaction; done (may be empty) runs on the store thread
    // after the commit with the work's own status, or the commit's failure. Thread-safe.
    void write(Work work, Done done = {}, Atomic atomic = Atomic::savepoint);
    // Runs work that only reads, in a read transaction of its own after the next batch's
    // commit: a batch that fails (a full disk) does not fail it. Thread-safe.
    void read(Work work, Done done = {});
    // Runs work that only reads at once, on the calling thread, in a read transaction of
    // its own: for what the edge needs from the store before start() (the plugins' state,
    // read before the first batch hands out messages their hooks see). Only before start(),
    // from the thread that opened the store.
    Status read_before_start(Work work);
    // Pulls writes from feed at the start of every round, at most per_round of them and about
    // per_round_bytes (WriteFeed::take). Once, from any thread (before start() or after);
    // feed must outlive the store. The store drains the feed before it stops.
    void feed_from(WriteFeed& feed, std::size_t per_round, std::size_t per_round_bytes);
    // The feed has writes for the next round: wakes the store thread. Thread-safe; call it
    // after adding to the feed, once for many.
    void fed();
    // Runs fn on the store thread once delay has passed (long-poll deadlines, retries).
    // Thread-safe.
    void after(std::chrono::milliseconds delay, std::function<void()> fn);
    // Something changed the clock's plan (a new schedule far from now): recompute wake-ups.
    void wake();
    // True on the store thread: completions and StoreEvents run there.
    bool on_store_thread() const { return std::this_thread::get_id() == thread_id_.load(); }

    const StoreStats& stats() const { return stats_; }

private:
    Store(StoreOptions options, StoreEvents& events);
    void run();
    using Piece = Write;
    void run_batch(std::vector<Piece>& batch);
    void run_reads(std::vector<std::pair<Work, Done>>& reads);
    std::chrono::steady_clock::time_point next_wake() const;
    void refresh_next_due();
    // Null while the file at options_.path is still the one the store opened; the error
    // every write fails with from the moment it was removed or replaced under the edge.
    const Error* file_lost();
    // storage_full with what the cap is, when the store has one.
    Status explained(const Status& status) const;

    StoreOptions options_;
    StoreEvents& events_;
    std::unique_ptr<Db> db_;
    std::unique_ptr<Checkpointer> checkpointer_;  // after db_: stops before db_ closes
    std::unique_ptr<Streams> streams_;
    std::unique_ptr<WorkQueues> work_;
    std::unique_ptr<PluginRows> plugin_rows_;
    std::unique_ptr<Statement> savepoint_;  // around each piece of work in a batch
    std::unique_ptr<Statement> rollback_to_;
    std::unique_ptr<Statement> release_;
    StoreStats stats_;
    std::chrono::steady_clock::time_point next_expire_{};
    std::int64_t next_due_ms_ = 0;  // 0: nothing pending; refreshed after each batch
    // The file's identity (st_dev, st_ino) when opened, and the error once it is gone:
    // store thread (after open).
    std::optional<std::pair<std::uint64_t, std::uint64_t>> file_id_;
    std::optional<Error> lost_;

    struct Timer {
        std::chrono::steady_clock::time_point at;
        std::uint64_t seq;  // keeps timers with the same time in order
        std::function<void()> fn;
        bool operator>(const Timer& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
    };


    // Lock order: mutex_ is never held while the feed's own lock is taken (WriteFeed::take
    // runs without it), so a feed may call fed() while it holds its lock.
    std::mutex mutex_;  // guards queue_, reads_, timers_, timer_seq_, stopping_, feed_*
    std::condition_variable wakeup_;
    std::vector<Piece> queue_;
    std::vector<std::pair<Work, Done>> reads_;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
    std::uint64_t timer_seq_ = 0;
    bool stopping_ = false;
    bool feed_waits_ = false;  // fed() since the last take, or the last take left writes
    WriteFeed* feed_ = nullptr;       // feed_from's; null: none
    std::size_t feed_per_round_ = 0;  // writes taken from feed_ per round at most
    std::size_t feed_per_round_bytes_ = 0;
    std::thread thread_;
    std::atomic<std::thread::id> thread_id_{};  // thread_'s, once it runs (on_store_thread)
};

}  // namespace adashta::store
