#include "adashta/store/store.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>

#include <sys/stat.h>

#include "adashta/ids.hpp"
#include "adashta/log.hpp"
#include "checkpointer.hpp"

namespace adashta::store {

using SteadyClock = std::chrono::steady_clock;

namespace {

// The store's mark in the SQLite header (PRAGMA application_id): "ADQ1".
constexpr std::int64_t kApplicationId = 0x41445131;

std::string joined(const std::vector<std::string>& items, std::size_t most) {
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < most; ++i) out += (i ? ", " : "") + items[i];
    if (items.size() > most) out += ", ...";
    return out;
}

// A file is ours when its header carries our mark, or (written before the mark existed)
// when its meta table holds the streams' schema version; an empty file is new and gets the
// mark. Anything else belongs to another program and is refused before a table is added.
Status claim(Db& db) {
    auto id = db.query("PRAGMA application_id");
    if (!id) return id.error();
    const std::int64_t mark = id->empty() ? 0 : std::stoll(id->front().front());
    if (mark == kApplicationId) return {};
    auto tables = db.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    if (!tables) return tables.error();
    std::vector<std::string> names;
    for (auto& row : *tables) names.push_back(std::move(row.front()));
    auto version = db.query("SELECT value FROM meta WHERE key = 'streams.schema_version'");
    const bool ours_before_the_mark = mark == 0 && version && !version->empty();
    if (mark == 0 && (names.empty() || ours_before_the_mark))
        return db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    return make_error(Errc::storage_corrupt,
                      "this is not an Adashta store but another program's database (" +
                          (names.empty() ? std::string{"application_id "} + std::to_string(mark)
                                         : "tables " + joined(names, 5)) +
                          "): point --data at an empty folder or at an edge's data folder; "
                          "the file was left as it was");
}

// Damaged pages are found at start, not by the first fetch that reads them.
Status check_pages(Db& db, std::chrono::milliseconds budget, const std::string& path) {
    // (The catalogue's hint for storage_corrupt adds: restore from a backup or move aside.)
    constexpr std::string_view kRecover = "; `sqlite3 store.db .recover` may save some rows";
    auto check = db.quick_check(budget);
    if (!check && check.error().code == Errc::storage_corrupt)  // too damaged to list
        return make_error(Errc::storage_corrupt, check.error().detail + std::string{kRecover});
    if (!check) return check.error();
    if (!check->problems.empty())
        return make_error(Errc::storage_corrupt, "PRAGMA quick_check found damaged pages (" +
                                                     joined(check->problems, 3) + ")" +
                                                     std::string{kRecover});
    if (!check->complete)
        log::warn("store", path + ": the integrity check stopped after " +
                               std::to_string(budget.count()) + " ms; the rest of the file is "
                               "checked as it is read");
    return {};
}

// PRAGMA max_page_count cannot go below the pages in use: a file already over the cap keeps
// its size (and takes no new pages) until expiry frees some.
Status cap_size(Db& db, const StoreOptions& options) {
    if (options.max_bytes == 0) return {};
    auto page = db.query("PRAGMA page_size");
    if (!page) return page.error();
    const std::uint64_t page_bytes = std::stoull(page->front().front());
    const std::uint64_t pages = std::max<std::uint64_t>(options.max_bytes / page_bytes, 16);
    auto set = db.query("PRAGMA max_page_count = " + std::to_string(pages));
    if (!set) return set.error();
    const std::uint64_t now = std::stoull(set->front().front());
    if (now > pages)
        log::warn("store", options.path + " holds " + std::to_string(now * page_bytes) +
                               " bytes, over its cap of " + std::to_string(options.max_bytes) +
                               ": new messages wait until expiry frees room");
    return {};
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> file_identity(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return std::pair<std::uint64_t, std::uint64_t>{st.st_dev, st.st_ino};
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(StoreOptions options, StoreEvents& events) {
    std::unique_ptr<Store> store{new Store{std::move(options), events}};
    auto db = Db::open(store->options_.path, store->options_.durable);
    if (!db) return db.error();
    store->db_ = std::move(*db);
    // Errors past opening the file name it too: the user has to find it.
    const auto at_path = [&](const Error& e) {
        return make_error(e.code, store->options_.path + ": " + e.detail);
    };
    if (auto ok = claim(*store->db_); !ok) return at_path(ok.error());
    if (auto ok = check_pages(*store->db_, store->options_.check_budget, store->options_.path);
        !ok)
        return at_path(ok.error());
    store->file_id_ = file_identity(store->options_.path);
    if (auto ok = cap_size(*store->db_, store->options_); !ok) return at_path(ok.error());
    auto streams = Streams::open(*store->db_);
    if (!streams) return at_path(streams.error());
    store->streams_ = std::move(*streams);
    auto work = WorkQueues::open(*store->db_);
    if (!work) return at_path(work.error());
    store->work_ = std::move(*work);
    auto plugin_rows = PluginRows::open(*store->db_);
    if (!plugin_rows) return at_path(plugin_rows.error());
    store->plugin_rows_ = std::move(*plugin_rows);
    {
        Transaction tx{*store->db_};
        if (!tx.began()) return tx.begin_status().error();
        for (const auto& [queue, settings] : store->options_.queues)
            if (auto ok = store->streams_->set_settings(queue, settings); !ok) return ok.error();
        if (auto ok = tx.commit(); !ok) return ok.error();
    }
    store->savepoint_ = std::make_unique<Statement>(*store->db_, "SAVEPOINT work");
    store->rollback_to_ = std::make_unique<Statement>(*store->db_, "ROLLBACK TO work");
    store->release_ = std::make_unique<Statement>(*store->db_, "RELEASE work");
    store->refresh_next_due();  // overdue messages from before a restart go out at once
    // Commits from now on leave checkpoints to a thread of their own.
    auto checkpointer =
        Checkpointer::start(store->options_.path, *store->db_, store->options_.durable,
                            store->options_.wal_force_frames);
    if (!checkpointer) return at_path(checkpointer.error());
    store->checkpointer_ = std::move(*checkpointer);
    return store;
}

Store::Store(StoreOptions options, StoreEvents& events)
    : options_(std::move(options)), events_(events) {}

Store::~Store() {
    {
        std::lock_guard lock{mutex_};
        stopping_ = true;
    }
    wakeup_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void Store::start() {
    assert(!thread_.joinable() && "Store::start called twice");
    thread_ = std::thread{[this] { run(); }};
}

void Store::write(Work work, Done done, Atomic atomic) {
    {
        std::lock_guard lock{mutex_};
        queue_.push_back({std::move(work), std::move(done), atomic});
    }
    wakeup_.notify_one();
}

void Store::read(Work work, Done done) {
    {
        std::lock_guard lock{mutex_};
        reads_.emplace_back(std::move(work), std::move(done));
    }
    wakeup_.notify_one();
}

void Store::after(std::chrono::milliseconds delay, std::function<void()> fn) {
    {
        std::lock_guard lock{mutex_};
        timers_.push({SteadyClock::now() + delay, timer_seq_++, std::move(fn)});
    }
    wakeup_.notify_one();
}

void Store::feed_from(WriteFeed& feed, std::size_t per_round, std::size_t per_round_bytes) {
    assert(per_round > 0);
    std::lock_guard lock{mutex_};
    assert(!feed_ && "Store::feed_from called twice");
    feed_ = &feed;
    feed_per_round_ = per_round;
    feed_per_round_bytes_ = per_round_bytes;
    feed_waits_ = true;  // it may hold writes already
}

void Store::fed() {
    {
        std::lock_guard lock{mutex_};
        feed_waits_ = true;
    }
    wakeup_.notify_one();
}

void Store::wake() {
    wakeup_.notify_one();
}

void Store::refresh_next_due() {
    std::optional<std::int64_t> next;
    for (auto candidate : {streams_->next_due_ms(), streams_->next_scheduled_ms()})
        if (candidate && *candidate && (!next || **candidate < *next)) next = **candidate;
    next_due_ms_ = next ? std::max<std::int64_t>(*next, 1) : 0;
}

SteadyClock::time_point Store::next_wake() const {
    auto wake = next_expire_;
    if (next_due_ms_ > 0) {
        const auto in =
            std::chrono::milliseconds{std::max<std::int64_t>(0, next_due_ms_ - now_ms())};
        wake = std::min(wake, SteadyClock::now() + in);
    }
    if (!timers_.empty()) wake = std::min(wake, timers_.top().at);
    return wake;
}

void Store::run() {
    thread_id_ = std::this_thread::get_id();
    next_expire_ = SteadyClock::now() + options_.expire_every;
    std::vector<Piece> batch;
    std::vector<std::pair<Work, Done>> reads;
    std::vector<std::function<void()>> fired;
    bool stopping = false;
    bool feed_has_work = false;
    WriteFeed* feed = nullptr;
    for (;;) {
        {
            std::unique_lock lock{mutex_};
            wakeup_.wait_until(lock, next_wake(), [&] {
                return stopping_ || !queue_.empty() || !reads_.empty() || feed_waits_ ||
                       SteadyClock::now() >= next_wake();
            });
            batch.swap(queue_);
            reads.swap(reads_);
            const auto now = SteadyClock::now();
            while (!timers_.empty() && timers_.top().at <= now) {
                fired.push_back(timers_.top().fn);
                timers_.pop();
            }
            stopping = stopping_;
            feed_has_work = std::exchange(feed_waits_, false);
            feed = feed_;
        }
        // The feed's writes after the direct ones (node acks and answers among them), a
        // bounded number per round: a round stays short however much the feed holds.
        if (feed_has_work && feed && feed->take(feed_per_round_, feed_per_round_bytes_, batch)) {
            std::lock_guard lock{mutex_};
            feed_waits_ = true;
        }
        if (stopping && batch.empty() && reads.empty()) return;
        for (auto& fn : fired) fn();
        fired.clear();
        run_batch(batch);
        batch.clear();
        run_reads(reads);
        reads.clear();
        events_.on_round_end();
    }
}

Status Store::read_before_start(Work work) {
    assert(!thread_.joinable() && "Store::read_before_start after start()");
    Transaction tx{*db_, Transaction::Kind::read};
    if (!tx.began()) return tx.begin_status();
    Tx ctx{*streams_, *work_, *plugin_rows_, now_ms()};
    const Status read = work(ctx);
    const Status ended = tx.commit();
    return read ? ended : read;
}

void Store::run_reads(std::vector<std::pair<Work, Done>>& reads) {
    if (reads.empty()) return;
    std::vector<Status> results(reads.size());
    Status ended;
    {
        Transaction tx{*db_, Transaction::Kind::read};
        ended = tx.begin_status();
        if (ended) {
            Tx ctx{*streams_, *work_, *plugin_rows_, now_ms()};
            for (std::size_t i = 0; i < reads.size(); ++i) results[i] = reads[i].first(ctx);
            ended = tx.commit();
        }
    }
    for (std::size_t i = 0; i < reads.size(); ++i) {
        const Status& status = ended ? results[i] : ended;
        if (reads[i].second) reads[i].second(status);
    }
}

void Store::run_batch(std::vector<Piece>& batch) {
    const std::int64_t now = now_ms();
    const bool expire_now = SteadyClock::now() >= next_expire_;
    const bool due_now = next_due_ms_ > 0 && next_due_ms_ <= now;
    if (batch.empty() && !expire_now && !due_now) return;
    if (const Error* lost = file_lost()) {
        stats_.failed += batch.size();
        for (auto& piece : batch)
            if (piece.done) piece.done(*lost);
        return;
    }

    std::vector<Status> results(batch.size());
    std::vector<Due> due;
    std::vector<StoredMessage> scheduled;
    std::vector<Due> dead;
    std::size_t expired = 0;
    Status committed;
    // Nothing is due before next_due_ms_ unless the batch changed the streams: then the
    // queries for due and scheduled messages, and for the next due time, can be skipped
    // (a batch of work-queue calls only touches other tables).
    const std::uint64_t stream_writes = streams_->writes();
    {
        Transaction tx{*db_};
        committed = tx.begin_status();
        if (committed) {
            Tx ctx{*streams_, *work_, *plugin_rows_, now, &due};
            for (std::size_t i = 0; i < batch.size() && committed; ++i) {
                // Each piece in its own savepoint (unless its writes need none): one that
                // fails leaves no trace and does not take the others down with it.
                const bool guarded = batch[i].atomic == Atomic::savepoint;
                const std::size_t handed_out = due.size();
                if (guarded) (void)savepoint_->run();
                results[i] = batch[i].work(ctx);
                if (!db_->in_transaction()) {
                    // SQLite rolled the whole transaction back (SQLITE_FULL does): every
                    // piece of this batch is undone, so every piece fails.
                    committed = results[i] ? Status{make_error(Errc::storage_failed,
                                                               "the transaction was rolled back")}
                                           : results[i];
                    break;
                }
                if (!results[i]) due.resize(handed_out);  // not taken after all
                if (guarded) {
                    if (!results[i]) (void)rollback_to_->run();
                    (void)release_->run();
                }
            }
        }
        const bool look_for_due = due_now || streams_->writes() != stream_writes;
        if (committed && look_for_due) {
            // What came in can go out: a big batch of new messages must not leave them
            // waiting behind a fixed hand-out size (delivery would fall behind ingress).
            const std::size_t due_limit = options_.due_batch + 2 * batch.size();
            if (auto taken = streams_->take_due(now, due_limit); taken) {
                std::move(taken->due.begin(), taken->due.end(), std::back_inserter(due));
                dead = std::move(taken->dead_lettered);
            }
            if (auto taken = streams_->take_scheduled(now, options_.due_batch); taken)
                scheduled = std::move(*taken);
        }
        if (committed) {
            if (expire_now)
                if (auto n = streams_->expire(now, options_.expire_budget); n) expired = *n;
            committed = tx.commit();
        }
    }
    if (expire_now) next_expire_ = SteadyClock::now() + options_.expire_every;
    // A failed commit may have undone changes to what is due: look again to be sure.
    if (!committed || streams_->writes() != stream_writes || due_now) refresh_next_due();

    if (!committed) {
        log::error("store", "commit failed: " + committed.error().to_string());
        stats_.failed += batch.size();
        const Status failed = explained(committed);
        for (auto& piece : batch)
            if (piece.done) piece.done(failed);
        return;
    }
    ++stats_.commits;
    stats_.expired += expired;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (results[i])
            ++stats_.writes;
        else
            ++stats_.failed;
        if (batch[i].done) batch[i].done(explained(results[i]));
    }
    if (!due.empty()) events_.on_due(std::move(due));
    if (!scheduled.empty()) events_.on_scheduled(std::move(scheduled));
    if (!dead.empty()) events_.on_dead_lettered(std::move(dead));
}

Status Store::explained(const Status& status) const {
    if (status || status.error().code != Errc::storage_full || options_.max_bytes == 0)
        return status;
    return make_error(Errc::storage_full,
                      status.error().detail + "; the store is capped at " +
                          std::to_string(options_.max_bytes) + " bytes (--max-store-bytes)");
}

// A file removed or replaced under a running edge takes every later commit with it (SQLite
// writes on into the unlinked inode): from then on nothing is acknowledged. One stat per
// batch, against a commit's fsync or page writes.
const Error* Store::file_lost() {
    if (lost_) return &*lost_;
    if (!file_id_ || file_identity(options_.path) == file_id_) return nullptr;
    lost_ = make_error(Errc::storage_failed,
                       options_.path + " was removed or replaced while the edge ran: nothing "
                                       "more is acknowledged; restart the edge (it opens the "
                                       "file found there, or a new one)");
    log::error("store", lost_->to_string());
    return &*lost_;
}

}  // namespace adashta::store
