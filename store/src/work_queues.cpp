#include "adashta/store/work_queues.hpp"

#include <span>

#include <sqlite3.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "adashta/ids.hpp"
#include "adashta/names.hpp"

namespace adashta::store {
namespace {

constexpr std::int64_t kSchemaVersion = 1;

// wq_meta is created first and on its own, so that a newer schema is refused before any
// other table is touched.
constexpr std::string_view kMetaSchema = R"(
CREATE TABLE IF NOT EXISTS wq_meta(
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO wq_meta(key, value) VALUES ('schema_version', 1), ('epoch', 0);
)";

// One row per queue, one per message. A message's visible_at is the time from which a
// receive may take it: sent + delay at first, receive time + vt after each receive.
// wq_messages_due serves receive (the earliest visible_at of one queue), next_visible_ms
// and the counts; SQLite appends the rowid (seq, the order of sending) to each of its
// entries, so "ORDER BY visible_at, seq" walks it without sorting.
constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS wq_queues(
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    vt_ms       INTEGER NOT NULL,
    delay_ms    INTEGER NOT NULL,
    maxsize     INTEGER NOT NULL,
    totalsent   INTEGER NOT NULL DEFAULT 0,
    totalrecv   INTEGER NOT NULL DEFAULT 0,
    created_ms  INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    max_receive INTEGER NOT NULL DEFAULT 0,
    dead_letter TEXT NOT NULL DEFAULT '',
    totaldead   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS wq_messages(
    seq        INTEGER PRIMARY KEY,
    queue      INTEGER NOT NULL REFERENCES wq_queues(id),
    id         TEXT NOT NULL UNIQUE,
    body       BLOB NOT NULL,
    sent_ms    INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    fr_ms      INTEGER,
    rc         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS wq_messages_due ON wq_messages(queue, visible_at);
)";

// Resets a statement when a walk over its rows ends, however it ends.
struct ResetOnExit {
    Statement& statement;
    ~ResetOnExit() { statement.reset(); }
};

// A name or id from the network, fit for an error detail: quoted, at most 64 bytes, and
// only printable ASCII.
std::string quoted(std::string_view text) {
    std::string out{"\""};
    for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    out += text.size() > 64 ? "...\"" : "\"";
    return out;
}

Status check_name(std::string_view name) {
    if (is_valid_queue_name(name)) return {};
    return make_error(Errc::bad_queue, "queue " + quoted(name));
}

Status check_ms(std::string_view what, std::int64_t ms, std::int64_t max) {
    if (ms >= 0 && ms <= max) return {};
    return make_error(Errc::bad_timeout, std::string{what} + " " + std::to_string(ms) +
                                             " is outside 0.." + std::to_string(max));
}

Status check_maxsize(std::int64_t maxsize) {
    if (maxsize == QueueOptions::kUnlimited ||
        (maxsize >= QueueOptions::kMinMaxsize && maxsize <= QueueOptions::kMaxMaxsize))
        return {};
    return make_error(Errc::bad_option, "maxsize " + std::to_string(maxsize) +
                                            " is neither -1 (unlimited) nor within " +
                                            std::to_string(QueueOptions::kMinMaxsize) + ".." +
                                            std::to_string(QueueOptions::kMaxMaxsize));
}

Status check_options(const QueueOptions& options, std::string_view name) {
    if (auto ok = check_ms("vt_ms", options.vt_ms, QueueOptions::kMaxVtMs); !ok) return ok;
    if (auto ok = check_ms("delay_ms", options.delay_ms, QueueOptions::kMaxDelayMs); !ok) return ok;
    if (options.max_receive < 0 || options.max_receive > 1'000'000)
        return make_error(Errc::bad_option, "max_receive must be 0 (no limit) to 1000000");
    if (!options.dead_letter.empty()) {
        if (!is_valid_queue_name(options.dead_letter))
            return make_error(Errc::bad_queue, "dead_letter " + quoted(options.dead_letter));
        if (options.dead_letter == name)
            return make_error(Errc::bad_option, "a queue cannot be its own dead_letter");
        if (options.max_receive == 0)
            return make_error(Errc::bad_option, "dead_letter needs a max_receive above 0");
    }
    return check_maxsize(options.maxsize);
}

// The largest body a queue takes. -1 lifts the queue's own limit, not SQLite's: a row must
// stay below SQLITE_LIMIT_LENGTH (1 GB unless lowered), so that cap applies to every queue.
std::int64_t largest_body(Db& db, std::int64_t maxsize) {
    const std::int64_t row_cap = sqlite3_limit(db.handle(), SQLITE_LIMIT_LENGTH, -1);
    const std::int64_t sqlite_cap = row_cap - 4096;  // room for the row's other columns
    return maxsize == QueueOptions::kUnlimited ? sqlite_cap : std::min(maxsize, sqlite_cap);
}

bool in_transaction(Db& db) {
    return sqlite3_get_autocommit(db.handle()) == 0;
}

// Reads one integer from a statement that yields at most one row.
Result<std::optional<std::int64_t>> read_one(Statement& statement) {
    ResetOnExit reset{statement};
    auto row = statement.step();
    if (!row) return row.error();
    if (!*row || statement.is_null(0)) return std::optional<std::int64_t>{};
    return std::optional<std::int64_t>{statement.int64(0)};
}

}  // namespace

// Every statement, prepared once. Parameters are numbered as in the SQL.
struct WorkQueues::Statements {
    explicit Statements(Db& db)
        : read_epoch{db, "SELECT value FROM wq_meta WHERE key = 'epoch'"},
          write_epoch{db, "UPDATE wq_meta SET value = ?1 WHERE key = 'epoch'"},
          find_queue{db,
                     "SELECT id, vt_ms, delay_ms, maxsize, max_receive, dead_letter FROM wq_queues "
                     "WHERE name = ?1"},
          insert_queue{
              db,
              "INSERT INTO wq_queues(name, vt_ms, delay_ms, maxsize, created_ms, "
              "modified_ms, max_receive, dead_letter) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7) "
              "ON CONFLICT(name) DO NOTHING"},
          update_queue{db,
                       "UPDATE wq_queues SET vt_ms = ?2, delay_ms = ?3, maxsize = ?4, "
                       "modified_ms = ?5, max_receive = ?6, dead_letter = ?7 WHERE id = ?1"},
          count_dead{db, "UPDATE wq_queues SET totaldead = totaldead + 1 WHERE id = ?1"},
          delete_queue{db, "DELETE FROM wq_queues WHERE id = ?1"},
          delete_queue_messages{db, "DELETE FROM wq_messages WHERE queue = ?1"},
          list_queues{db, "SELECT name FROM wq_queues ORDER BY name"},
          queue_row{
              db,
              "SELECT vt_ms, delay_ms, maxsize, totalrecv, totalsent, created_ms, "
              "modified_ms, max_receive, dead_letter, totaldead FROM wq_queues WHERE id = ?1"},
          count_messages{db,
                         "SELECT count(*), coalesce(sum(visible_at > ?2), 0) FROM wq_messages "
                         "WHERE queue = ?1"},
          count_sent{db, "UPDATE wq_queues SET totalsent = totalsent + ?2 WHERE id = ?1"},
          count_received{db, "UPDATE wq_queues SET totalrecv = totalrecv + ?2 WHERE id = ?1"},
          insert_message{db,
                         "INSERT INTO wq_messages(queue, id, body, sent_ms, visible_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)"},
          next_message{db,
                       "SELECT seq, id, body, sent_ms, fr_ms, rc FROM wq_messages "
                       "WHERE queue = ?1 AND visible_at <= ?2 ORDER BY visible_at, seq LIMIT 1"},
          hide_message{db,
                       "UPDATE wq_messages SET visible_at = ?2, rc = rc + 1, "
                       "fr_ms = coalesce(fr_ms, ?3) WHERE seq = ?1"},
          delete_by_seq{db, "DELETE FROM wq_messages WHERE seq = ?1"},
          delete_message{db, "DELETE FROM wq_messages WHERE id = ?2 AND queue = ?1"},
          set_visible{db, "UPDATE wq_messages SET visible_at = ?3 WHERE id = ?2 AND queue = ?1"},
          next_visible{db,
                       "SELECT visible_at FROM wq_messages WHERE queue = ?1 "
                       "ORDER BY visible_at LIMIT 1"} {}

    Statement read_epoch;
    Statement write_epoch;
    Statement find_queue;
    Statement insert_queue;
    Statement update_queue;
    Statement count_dead;
    Statement delete_queue;
    Statement delete_queue_messages;
    Statement list_queues;
    Statement queue_row;
    Statement count_messages;
    Statement count_sent;
    Statement count_received;
    Statement insert_message;
    Statement next_message;
    Statement hide_message;
    Statement delete_by_seq;
    Statement delete_message;
    Statement set_visible;
    Statement next_visible;
};

Result<std::unique_ptr<WorkQueues>> WorkQueues::open(Db& db) {
    std::optional<Transaction> own;  // only when the caller has none open
    if (!in_transaction(db)) {
        own.emplace(db);
        if (!own->began()) return own->begin_status().error();
    }
    if (auto ok = db.exec(kMetaSchema); !ok) return ok.error();
    Statement version{db, "SELECT value FROM wq_meta WHERE key = 'schema_version'"};
    auto stored = read_one(version);
    if (!stored) return stored.error();
    if (stored->value_or(0) != kSchemaVersion)
        return make_error(Errc::storage_failed,
                          "the work queue tables have schema version " +
                              std::to_string(stored->value_or(0)) + ", this build knows " +
                              std::to_string(kSchemaVersion) + " (run a newer adashta)");
    if (auto ok = db.exec(kSchema); !ok) return ok.error();
    Statement epoch{db, "SELECT value FROM wq_meta WHERE key = 'epoch'"};
    auto current = read_one(epoch);
    if (!current) return current.error();
    if (own)
        if (auto ok = own->commit(); !ok) return ok.error();
    return std::unique_ptr<WorkQueues>{new WorkQueues{db, current->value_or(0)}};
}

WorkQueues::WorkQueues(Db& db, std::int64_t epoch)
    : db_(db), sql_(std::make_unique<Statements>(db)), epoch_(epoch) {}

WorkQueues::~WorkQueues() = default;

// The cache and rollbacks. The caller owns the transaction, so a create, set or delete this
// object has seen can be rolled back without its knowledge, leaving cached rows the table
// no longer has (even a queue id now used by another queue). So every create/set/delete
// also writes a new epoch in wq_meta, in the same transaction, and every call first reads
// the epoch (one primary-key read): if it is not the one the cache was filled under, a
// rollback happened and the cache is dropped. Counters are never cached; they live in the
// table and change in the caller's transaction.
Status WorkQueues::check_epoch() {
    auto stored = read_one(sql_->read_epoch);
    if (!stored) return stored.error();
    if (stored->value_or(0) != epoch_) {
        cache_.clear();
        epoch_ = stored->value_or(0);
    }
    return {};
}

// Only after check_epoch() in the same call, so the table holds epoch_.
Status WorkQueues::bump_epoch() {
    if (auto ok = sql_->write_epoch.bind(1, epoch_ + 1).run(); !ok) return ok;
    ++epoch_;
    return {};
}

Result<WorkQueues::QueueRow> WorkQueues::find(std::string_view name) {
    assert(in_transaction(db_) && "WorkQueues: call inside the caller's transaction");
    if (auto ok = check_name(name); !ok) return ok.error();
    if (auto ok = check_epoch(); !ok) return ok.error();
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
    Statement& select = sql_->find_queue;
    ResetOnExit reset{select};
    auto row = select.bind(1, name).step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::unknown_queue, "queue " + quoted(name));
    const QueueRow queue{select.int64(0), select.int64(1), select.int64(2),
                         select.int64(3), select.int64(4), std::string{select.text(5)}};
    cache_.emplace(std::string{name}, queue);
    return queue;
}

Status WorkQueues::create_queue(std::string_view name, const QueueOptions& options,
                                std::int64_t now_ms) {
    assert(in_transaction(db_) && "WorkQueues: call inside the caller's transaction");
    assert(now_ms >= 0);
    if (auto ok = check_name(name); !ok) return ok;
    if (auto ok = check_options(options, name); !ok) return ok;
    if (auto ok = check_epoch(); !ok) return ok;
    Statement& insert = sql_->insert_queue;
    insert.bind(1, name).bind(2, options.vt_ms).bind(3, options.delay_ms);
    insert.bind(6, options.max_receive).bind(7, options.dead_letter);
    if (auto ok = insert.bind(4, options.maxsize).bind(5, now_ms).run(); !ok) return ok;
    if (db_.changes() == 0) return make_error(Errc::queue_exists, "queue " + quoted(name));
    const QueueRow queue{db_.last_insert_rowid(), options.vt_ms,       options.delay_ms,
                         options.maxsize,         options.max_receive, options.dead_letter};
    if (auto ok = bump_epoch(); !ok) return ok;
    cache_.insert_or_assign(std::string{name}, queue);
    return {};
}

Status WorkQueues::delete_queue(std::string_view name) {
    auto queue = find(name);
    if (!queue) return queue.error();
    if (auto ok = sql_->delete_queue_messages.bind(1, queue->id).run(); !ok) return ok;
    if (auto ok = sql_->delete_queue.bind(1, queue->id).run(); !ok) return ok;
    if (auto ok = bump_epoch(); !ok) return ok;
    if (auto it = cache_.find(name); it != cache_.end()) cache_.erase(it);
    return {};
}

Result<std::vector<std::string>> WorkQueues::list_queues() {
    assert(in_transaction(db_) && "WorkQueues: call inside the caller's transaction");
    Statement& select = sql_->list_queues;
    ResetOnExit reset{select};
    std::vector<std::string> names;
    for (;;) {
        auto row = select.step();
        if (!row) return row.error();
        if (!*row) return names;
        names.emplace_back(select.text(0));
    }
}

Result<QueueAttributes> WorkQueues::attributes_of(const QueueRow& queue, std::int64_t now_ms) {
    QueueAttributes out;
    {
        Statement& select = sql_->queue_row;
        ResetOnExit reset{select};
        auto row = select.bind(1, queue.id).step();
        if (!row) return row.error();
        assert(*row && "WorkQueues: a queue found a moment ago has no row");
        if (!*row) return make_error(Errc::storage_failed, "wq_queues lost a row");
        out.vt_ms = select.int64(0);
        out.delay_ms = select.int64(1);
        out.maxsize = select.int64(2);
        out.totalrecv = select.int64(3);
        out.totalsent = select.int64(4);
        out.created_ms = select.int64(5);
        out.modified_ms = select.int64(6);
        out.max_receive = select.int64(7);
        out.dead_letter = select.text(8);
        out.totaldead = select.int64(9);
    }
    Statement& count = sql_->count_messages;
    ResetOnExit reset{count};
    auto row = count.bind(1, queue.id).bind(2, now_ms).step();
    if (!row) return row.error();
    out.msgs = count.int64(0);  // an aggregate always yields one row
    out.hiddenmsgs = count.int64(1);
    return out;
}

Result<QueueAttributes> WorkQueues::queue_attributes(std::string_view name, std::int64_t now_ms) {
    auto queue = find(name);
    if (!queue) return queue.error();
    return attributes_of(*queue, now_ms);
}

Result<QueueAttributes> WorkQueues::set_queue_attributes(std::string_view name,
                                                         const QueueOptionChanges& changes,
                                                         std::int64_t now_ms) {
    assert(now_ms >= 0);
    if (!changes.vt_ms && !changes.delay_ms && !changes.maxsize && !changes.max_receive &&
        !changes.dead_letter)
        return make_error(
            Errc::bad_option,
            "nothing to set: give vt_ms, delay_ms, maxsize, max_receive or dead_letter");
    auto queue = find(name);
    if (!queue) return queue.error();
    QueueRow changed = *queue;
    changed.vt_ms = changes.vt_ms.value_or(queue->vt_ms);
    changed.delay_ms = changes.delay_ms.value_or(queue->delay_ms);
    changed.maxsize = changes.maxsize.value_or(queue->maxsize);
    changed.max_receive = changes.max_receive.value_or(queue->max_receive);
    changed.dead_letter = changes.dead_letter.value_or(queue->dead_letter);
    if (auto ok = check_options({changed.vt_ms, changed.delay_ms, changed.maxsize,
                                 changed.max_receive, changed.dead_letter},
                                name);
        !ok)
        return ok.error();
    Statement& update = sql_->update_queue;
    update.bind(1, changed.id).bind(2, changed.vt_ms).bind(3, changed.delay_ms);
    update.bind(6, changed.max_receive).bind(7, changed.dead_letter);
    if (auto ok = update.bind(4, changed.maxsize).bind(5, now_ms).run(); !ok) return ok.error();
    if (auto ok = bump_epoch(); !ok) return ok.error();
    cache_.insert_or_assign(std::string{name}, changed);
    return attributes_of(changed, now_ms);
}

// One new message of a queue found already; the caller counts it in totalsent.
Result<std::string> WorkQueues::insert(const QueueRow& queue, std::string_view name,
                                       std::string_view body, std::optional<std::int64_t> delay_ms,
                                       std::int64_t now_ms) {
    if (const auto largest = largest_body(db_, queue.maxsize);
        static_cast<std::int64_t>(body.size()) > largest)
        return make_error(Errc::message_too_large, std::to_string(body.size()) + " bytes; queue " +
                                                       quoted(name) + " takes at most " +
                                                       std::to_string(largest));
    std::string id = new_message_id();
    Statement& insert = sql_->insert_message;
    insert.bind(1, queue.id).bind(2, id).bind_blob(3, body).bind(4, now_ms);
    auto inserted = insert.bind(5, now_ms + delay_ms.value_or(queue.delay_ms)).run();
    insert.bind_null(3);  // do not keep a copy of a large body until the next send
    if (!inserted) return inserted.error();
    return id;
}

Result<std::string> WorkQueues::send(std::string_view name, std::string_view body,
                                     std::optional<std::int64_t> delay_ms, std::int64_t now_ms) {
    auto ids = send_batch(name, std::span<const std::string_view>{&body, 1}, delay_ms, now_ms);
    if (!ids) return ids.error();
    return std::move(ids->front());
}

Result<std::vector<std::string>> WorkQueues::send_batch(std::string_view name,
                                                        std::span<const std::string> bodies,
                                                        std::optional<std::int64_t> delay_ms,
                                                        std::int64_t now_ms) {
    std::vector<std::string_view> views{bodies.begin(), bodies.end()};
    return send_batch(name, std::span<const std::string_view>{views}, delay_ms, now_ms);
}

Result<std::vector<std::string>> WorkQueues::send_batch(std::string_view name,
                                                        std::span<const std::string_view> bodies,
                                                        std::optional<std::int64_t> delay_ms,
                                                        std::int64_t now_ms) {
    assert(now_ms >= 0);
    if (delay_ms)
        if (auto ok = check_ms("delay_ms", *delay_ms, QueueOptions::kMaxDelayMs); !ok)
            return ok.error();
    auto queue = find(name);
    if (!queue) return queue.error();
    std::vector<std::string> ids;
    ids.reserve(bodies.size());
    for (std::string_view body : bodies) {
        auto id = insert(*queue, name, body, delay_ms, now_ms);
        if (!id) return id.error();
        ids.push_back(std::move(*id));
    }
    const auto sent = static_cast<std::int64_t>(ids.size());
    if (auto ok = sql_->count_sent.bind(1, queue->id).bind(2, sent).run(); !ok) return ok.error();
    return ids;
}

Result<std::vector<ReceivedMessage>> WorkQueues::take(std::string_view name, std::size_t max,
                                                      std::optional<std::int64_t> vt_ms,
                                                      std::int64_t now_ms, bool remove) {
    assert(now_ms >= 0);
    if (vt_ms)
        if (auto ok = check_ms("vt_ms", *vt_ms, QueueOptions::kMaxVtMs); !ok) return ok.error();
    auto queue = find(name);
    if (!queue) return queue.error();
    std::vector<ReceivedMessage> taken;
    while (taken.size() < max) {
        std::int64_t seq = 0;
        ReceivedMessage message;
        {
            Statement& select = sql_->next_message;
            ResetOnExit reset{select};
            auto row = select.bind(1, queue->id).bind(2, now_ms).step();
            if (!row) return row.error();
            if (!*row) break;
            seq = select.int64(0);
            message.id = select.text(1);
            message.body = select.text(2);
            message.sent_ms = select.int64(3);
            message.fr_ms = select.is_null(4) ? now_ms : select.int64(4);
            message.rc = select.int64(5) + 1;
        }
        if (queue->max_receive > 0 && message.rc > queue->max_receive) {
            if (auto ok = dead_letter(*queue, seq, message, now_ms); !ok) return ok.error();
            continue;
        }
        Statement& write = remove ? sql_->delete_by_seq : sql_->hide_message;
        write.bind(1, seq);
        if (!remove) write.bind(2, now_ms + vt_ms.value_or(queue->vt_ms)).bind(3, now_ms);
        if (auto ok = write.run(); !ok) return ok.error();
        taken.push_back(std::move(message));
    }
    if (!taken.empty()) {
        const auto received = static_cast<std::int64_t>(taken.size());
        if (auto ok = sql_->count_received.bind(1, queue->id).bind(2, received).run(); !ok)
            return ok.error();
    }
    return taken;
}

// A message received max_receive times already: into the dead-letter queue (created with
// default settings if missing; same id, body and sent time, receive count from 0), or gone.
Status WorkQueues::dead_letter(const QueueRow& queue, std::int64_t seq,
                               const ReceivedMessage& message, std::int64_t now_ms) {
    if (auto ok = sql_->delete_by_seq.bind(1, seq).run(); !ok) return ok;
    if (auto ok = sql_->count_dead.bind(1, queue.id).run(); !ok) return ok;
    if (queue.dead_letter.empty()) return {};
    auto target = find(queue.dead_letter);
    if (!target && target.error().code == Errc::unknown_queue) {
        if (auto ok = create_queue(queue.dead_letter, {}, now_ms); !ok) return ok;
        target = find(queue.dead_letter);
    }
    if (!target) return target.error();
    Statement& insert = sql_->insert_message;
    insert.bind(1, target->id).bind(2, message.id).bind_blob(3, message.body);
    auto inserted = insert.bind(4, message.sent_ms).bind(5, now_ms).run();
    insert.bind_null(3);
    if (!inserted) return inserted;
    return sql_->count_sent.bind(1, target->id).bind(2, std::int64_t{1}).run();
}

namespace {
Result<std::optional<ReceivedMessage>> first_of(Result<std::vector<ReceivedMessage>> taken) {
    if (!taken) return taken.error();
    if (taken->empty()) return std::optional<ReceivedMessage>{};
    return std::optional<ReceivedMessage>{std::move(taken->front())};
}
}  // namespace

Result<std::optional<ReceivedMessage>> WorkQueues::receive(std::string_view name,
                                                           std::optional<std::int64_t> vt_ms,
                                                           std::int64_t now_ms) {
    return first_of(take(name, 1, vt_ms, now_ms, false));
}

Result<std::optional<ReceivedMessage>> WorkQueues::pop(std::string_view name, std::int64_t now_ms) {
    return first_of(take(name, 1, std::nullopt, now_ms, true));
}

Result<std::vector<ReceivedMessage>> WorkQueues::receive_batch(std::string_view name,
                                                               std::size_t max,
                                                               std::optional<std::int64_t> vt_ms,
                                                               std::int64_t now_ms) {
    return take(name, max, vt_ms, now_ms, false);
}

Result<std::vector<bool>> WorkQueues::delete_batch(std::string_view name,
                                                   std::span<const std::string> ids) {
    auto queue = find(name);
    if (!queue) return queue.error();
    std::vector<bool> deleted;
    deleted.reserve(ids.size());
    for (const auto& id : ids) {
        if (auto ok = sql_->delete_message.bind(1, queue->id).bind(2, id).run(); !ok)
            return ok.error();
        deleted.push_back(db_.changes() > 0);
    }
    return deleted;
}

Result<bool> WorkQueues::delete_message(std::string_view name, std::string_view id) {
    auto queue = find(name);
    if (!queue) return queue.error();
    if (auto ok = sql_->delete_message.bind(1, queue->id).bind(2, id).run(); !ok) return ok.error();
    return db_.changes() > 0;
}

Status WorkQueues::change_visibility(std::string_view name, std::string_view id, std::int64_t vt_ms,
                                     std::int64_t now_ms) {
    assert(now_ms >= 0);
    if (auto ok = check_ms("vt_ms", vt_ms, QueueOptions::kMaxVtMs); !ok) return ok;
    auto queue = find(name);
    if (!queue) return queue.error();
    Statement& update = sql_->set_visible;
    if (auto ok = update.bind(1, queue->id).bind(2, id).bind(3, now_ms + vt_ms).run(); !ok)
        return ok;
    if (db_.changes() == 0)
        return make_error(Errc::unknown_message,
                          "message " + quoted(id) + " in queue " + quoted(name));
    return {};
}

Result<std::optional<std::int64_t>> WorkQueues::next_visible_ms(std::string_view name) {
    auto queue = find(name);
    if (!queue) return queue.error();
    sql_->next_visible.bind(1, queue->id);
    return read_one(sql_->next_visible);
}

}  // namespace adashta::store
