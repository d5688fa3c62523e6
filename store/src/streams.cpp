// Streams on SQLite. The shape of the data, and why:
//
// queues    one row per queue: a small integer id the other tables use instead of the
//           name, the next offset (kept here, so offsets never go back, even when every
//           message has expired), the settings if configured, and three values that keep
//           expiry cheap (below).
// messages  the streams, a rowid table (data can be large, which WITHOUT ROWID handles
//           badly) with three indexes, one per hot query:
//             messages_by_offset (queue_id, offset)   reading, joins from pending, expiry
//             messages_by_id     (id, queue_id)       duplicates, ack / cancel by id
//             messages_for_clients (queue_id, client, offset) WHERE direction <> 0
//                 a client's view: to_all rows have client '', to_client rows the target,
//                 so one client's read is two range scans merged by offset.
// pending   client messages not acknowledged yet; WITHOUT ROWID, keyed like the message,
//           indexed by visible_at (which also orders by queue and offset, for free).
// scheduled server -> client messages waiting for their deliver_at; they get an offset
//           when they enter the stream, so a stream's offsets follow delivery order and a
//           client that resumes from its last offset never misses a late-delivered one.
// meta      schema version.
//
// Expiry in offset order. Every message's time_ms (when it entered the stream) and
// expires_ms are clamped to be no lower than the previous message's of the same queue
// (queues.last_time_ms / last_expires_ms), so in each queue expiry deletes a prefix of the
// offsets, like trimming by max_messages does. That is what makes gaps detectable: if
// offset k is gone, so is everything below k. It also lets oldest_offset(), expiry and
// read-by-time find where they start by binary search over offsets instead of another
// index on the hot path (there was one by expiry time until 2026-11; open() drops it).
// queues.next_expiry_ms (the earliest expires_ms of the queue, NULL when empty) tells
// expire() which queues have something to delete.
//
// Size in offset order too. queues.appended_bytes counts the data ever appended to the
// queue, and each message keeps in start_bytes that count as it was before it, so
// start_bytes never decreases along a stream: the messages within max_bytes are those with
// start_bytes >= appended_bytes - max_bytes, another prefix found by binary search. A
// cancelled message's bytes stay counted (the queue then keeps a little less than
// max_bytes until the cut has passed it).
//
// No caches. Every call reads its queue's row: one unique-index lookup, which append()
// needs anyway to take an offset, and which also brings the settings and the duplicate
// check. The caller rolls back to savepoints of its own (the store does, per piece of
// work) without anything here seeing it, so a cache could outlive the rows it describes.
#include "adashta/store/streams.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "adashta/names.hpp"

namespace adashta::store {

std::string user_key(std::string_view user) {
    return "u:" + std::string{user};
}

namespace {

constexpr std::size_t kMaxUserBytes = 256;  // a token's sub, as the edge stores it
constexpr std::int64_t kSchemaVersion = 2;  // 2: maxBytes (see migrate_from_1)
constexpr std::string_view kSchemaKey = "streams.schema_version";

constexpr std::string_view kMetaSchema = R"(
CREATE TABLE IF NOT EXISTS meta(
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
)";

constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS queues(
    queue_id          INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    next_offset       INTEGER NOT NULL DEFAULT 1,
    last_time_ms      INTEGER NOT NULL DEFAULT 0,
    last_expires_ms   INTEGER NOT NULL DEFAULT 0,
    next_expiry_ms    INTEGER,
    configured        INTEGER NOT NULL DEFAULT 0,
    retention_ms      INTEGER,
    max_messages      INTEGER,
    max_message_bytes INTEGER,
    visibility_ms     INTEGER,
    delay_ms          INTEGER,
    max_receive       INTEGER,
    dead_letter       TEXT,
    client_schedule   INTEGER,
    max_bytes         INTEGER,
    appended_bytes    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queues_by_expiry ON queues(next_expiry_ms);
CREATE TABLE IF NOT EXISTS messages(
    queue_id      INTEGER NOT NULL,
    offset        INTEGER NOT NULL,
    id            TEXT NOT NULL,
    direction     INTEGER NOT NULL,
    client        TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    deliver_at_ms INTEGER NOT NULL,
    time_ms       INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    start_bytes   INTEGER NOT NULL DEFAULT 0,
    data          TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_offset ON messages(queue_id, offset);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_id ON messages(id, queue_id);
DROP INDEX IF EXISTS messages_by_expiry;
CREATE INDEX IF NOT EXISTS messages_for_clients ON messages(queue_id, client, offset)
    WHERE direction <> 0;
CREATE TABLE IF NOT EXISTS pending(
    queue_id      INTEGER NOT NULL,
    offset        INTEGER NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_id, offset)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_by_time ON pending(visible_at_ms);
CREATE TABLE IF NOT EXISTS scheduled(
    queue_id      INTEGER NOT NULL,
    id            TEXT NOT NULL,
    direction     INTEGER NOT NULL,
    client        TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    deliver_at_ms INTEGER NOT NULL,
    data          TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS scheduled_by_id ON scheduled(id, queue_id);
CREATE INDEX IF NOT EXISTS scheduled_by_time ON scheduled(deliver_at_ms);
)";

// Version 1 to 2: the columns of maxBytes. Messages stored before count 0 bytes (their
// start_bytes is 0 and appended_bytes starts at 0), so a queue given maxBytes after the
// upgrade trims what it stores from then on, and what came before by time and count only.
constexpr std::string_view kFromVersion1 = R"(
ALTER TABLE queues ADD COLUMN max_bytes INTEGER;
ALTER TABLE queues ADD COLUMN appended_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN start_bytes INTEGER NOT NULL DEFAULT 0;
)";

// The settings columns of queues, after `configured`, in QueueSettings order;
// settings_at() reads them. Their names are unique among the tables, so joins need no
// table prefix.
#define SETTINGS_COLUMNS                                                                   \
    "configured, retention_ms, max_messages, max_message_bytes, visibility_ms, delay_ms, " \
    "max_receive, dead_letter, client_schedule, max_bytes"

// The columns a StoredMessage is read from; read_message() reads them.
#define MESSAGE_COLUMNS "offset, id, direction, client, data, created_ms, deliver_at_ms"

// Every statement, by name. open() prepares each once to check that the tables have the
// shape this code expects, before Statements is built (whose constructor asserts).
struct Sql {
    const char* name;
    const char* text;
};
constexpr Sql kSql[] = {
    {"savepoint", "SAVEPOINT streams"},
    {"release", "RELEASE streams"},
    {"rollback_to", "ROLLBACK TO streams"},
    {"read_version", "SELECT value FROM meta WHERE key = ?1"},
    {"write_version", "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)"},
    // A queue's row as QueueRow holds it (column order matters to find_queue).
    {"queue_row", "SELECT queue_id, next_offset, " SETTINGS_COLUMNS " FROM queues WHERE name = ?1"},
    // The same, and where a copy of message ?2 is: its offset, 0 if it is scheduled, else
    // NULL. One statement, because append() asks it every time.
    {"queue_row_copy",
     "SELECT queue_id, next_offset, " SETTINGS_COLUMNS
     ", coalesce((SELECT offset FROM messages m WHERE m.id = ?2 AND m.queue_id = q.queue_id), "
     "(SELECT 0 FROM scheduled s WHERE s.id = ?2 AND s.queue_id = q.queue_id)) "
     "FROM queues q WHERE name = ?1"},
    {"queue_by_id",
     "SELECT queue_id, next_offset, " SETTINGS_COLUMNS " FROM queues WHERE queue_id = ?1"},
    {"insert_queue", "INSERT INTO queues(name) VALUES (?1) RETURNING queue_id"},
    {"all_queues", "SELECT queue_id, next_offset, " SETTINGS_COLUMNS " FROM queues"},
    {"list_queues", "SELECT name, next_offset, " SETTINGS_COLUMNS " FROM queues ORDER BY name"},
    {"upsert_settings",
     "INSERT INTO queues(name, " SETTINGS_COLUMNS
     ") VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
     "ON CONFLICT(name) DO UPDATE SET configured = 1, retention_ms = excluded.retention_ms, "
     "max_messages = excluded.max_messages, max_message_bytes = excluded.max_message_bytes, "
     "visibility_ms = excluded.visibility_ms, delay_ms = excluded.delay_ms, "
     "max_receive = excluded.max_receive, dead_letter = excluded.dead_letter, "
     "client_schedule = excluded.client_schedule, max_bytes = excluded.max_bytes "
     "RETURNING queue_id"},
    // One statement takes the offset and moves the queue's clocks; SET expressions see the
    // old row, RETURNING the new one. ?2 now, ?3 retention, ?4 the message's bytes (its
    // start_bytes is the total before it). It changes no indexed column, so
    // SQLite needs no statement journal for it; next_expiry_ms (indexed) is set apart, only
    // when the stream was empty.
    {"take_offset",
     "UPDATE queues SET next_offset = next_offset + 1, "
     "last_time_ms = max(last_time_ms, ?2), "
     "last_expires_ms = max(last_expires_ms, max(last_time_ms, ?2) + ?3), "
     "appended_bytes = appended_bytes + ?4 "
     "WHERE queue_id = ?1 "
     "RETURNING next_offset - 1, last_time_ms, last_expires_ms, next_expiry_ms IS NULL, "
     "appended_bytes"},
    {"set_next_expiry", "UPDATE queues SET next_expiry_ms = ?2 WHERE queue_id = ?1"},
    {"insert_message",
     "INSERT INTO messages(queue_id, offset, id, direction, client, created_ms, deliver_at_ms, "
     "time_ms, expires_ms, data, start_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
     "?11)"},
    {"insert_pending",
     "INSERT INTO pending(queue_id, offset, visible_at_ms, receive_count) VALUES (?1, ?2, ?3, ?4)"},
    {"insert_scheduled",
     "INSERT INTO scheduled(queue_id, id, direction, client, created_ms, deliver_at_ms, data) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
    // LEFT JOIN: a pending row whose message is missing is removed instead of staying due.
    {"select_due",
     "SELECT p.queue_id, p.offset, p.receive_count, q.name, m.id, m.client, m.data, "
     "m.created_ms, m.deliver_at_ms, " SETTINGS_COLUMNS " FROM pending p "
     "JOIN queues q ON q.queue_id = p.queue_id "
     "LEFT JOIN messages m ON m.queue_id = p.queue_id AND m.offset = p.offset "
     "WHERE p.visible_at_ms <= ?1 ORDER BY p.visible_at_ms, p.queue_id, p.offset LIMIT ?2"},
    {"receive_pending",
     "UPDATE pending SET receive_count = ?3, visible_at_ms = ?4 WHERE queue_id = ?1 AND offset = "
     "?2"},
    {"delete_pending", "DELETE FROM pending WHERE queue_id = ?1 AND offset = ?2"},
    {"ack",
     "DELETE FROM pending WHERE (queue_id, offset) IN "
     "(SELECT queue_id, offset FROM messages WHERE id = ?1)"},
    {"extend",
     "UPDATE pending SET visible_at_ms = ?2 WHERE (queue_id, offset) IN "
     "(SELECT queue_id, offset FROM messages WHERE id = ?1)"},
    {"release_pending",
     "UPDATE pending SET visible_at_ms = ?2, receive_count = max(receive_count - 1, 0) "
     "WHERE (queue_id, offset) IN (SELECT queue_id, offset FROM messages WHERE id = ?1)"},
    {"pending_count", "SELECT count(*) FROM pending WHERE queue_id = ?1"},
    {"next_due", "SELECT min(visible_at_ms) FROM pending"},
    {"select_scheduled",
     "SELECT s.rowid, s.queue_id, q.name, s.id, s.direction, s.client, s.created_ms, "
     "s.deliver_at_ms, s.data, " SETTINGS_COLUMNS " FROM scheduled s "
     "JOIN queues q ON q.queue_id = s.queue_id "
     "WHERE s.deliver_at_ms <= ?1 ORDER BY s.deliver_at_ms, s.rowid LIMIT ?2"},
    {"delete_scheduled_row", "DELETE FROM scheduled WHERE rowid = ?1"},
    {"next_scheduled", "SELECT min(deliver_at_ms) FROM scheduled"},
    {"cancel_scheduled", "DELETE FROM scheduled WHERE id = ?1"},
    {"find_cancellable",
     "SELECT m.rowid, m.queue_id, m.offset, p.receive_count FROM messages m "
     "JOIN pending p ON p.queue_id = m.queue_id AND p.offset = m.offset WHERE m.id = ?1"},
    {"message_exists", "SELECT 1 FROM messages WHERE id = ?1 LIMIT 1"},
    {"delete_message_row", "DELETE FROM messages WHERE rowid = ?1"},
    // ?1 queue, ?2 from offset, ?3 now, ?4 include scheduled, ?5 limit
    {"read_all", "SELECT " MESSAGE_COLUMNS " FROM messages WHERE queue_id = ?1 AND offset >= ?2 "
                 "AND expires_ms > ?3 AND (deliver_at_ms <= ?3 OR ?4) ORDER BY offset LIMIT ?5"},
    // ?1 queue, ?2 from offset, ?3 now, ?4 session, ?5 limit, ?6 user key. Three range scans
    // of messages_for_clients (to_all rows, the session's, its user's) merged by offset.
    {"read_client", "SELECT " MESSAGE_COLUMNS " FROM messages WHERE queue_id = ?1 AND client = '' "
                    "AND direction <> 0 AND offset >= ?2 AND expires_ms > ?3 "
                    "UNION ALL "
                    "SELECT " MESSAGE_COLUMNS " FROM messages WHERE queue_id = ?1 AND client = ?4 "
                    "AND direction <> 0 AND offset >= ?2 AND expires_ms > ?3 AND ?4 <> '' "
                    "UNION ALL "
                    "SELECT " MESSAGE_COLUMNS " FROM messages WHERE queue_id = ?1 AND client = ?6 "
                    "AND direction <> 0 AND offset >= ?2 AND expires_ms > ?3 AND ?6 <> '' "
                    "ORDER BY 1 LIMIT ?5"},
    // The probe of the binary searches over a stream (first_offset_where); columns 1 to 3
    // never decrease along it.
    {"first_at_or_after",
     "SELECT offset, time_ms, expires_ms, start_bytes FROM messages WHERE queue_id = ?1 AND offset >= ?2 "
     "ORDER BY offset LIMIT 1"},
    // The bytes of data ever appended to the queue: message k is within max_bytes while
    // appended_bytes - start_bytes(k) <= max_bytes.
    {"appended_bytes", "SELECT appended_bytes FROM queues WHERE queue_id = ?1"},
    {"expiring_queues",
     "SELECT queue_id FROM queues WHERE next_expiry_ms <= ?1 ORDER BY next_expiry_ms LIMIT ?2"},
    {"trim_pending",
     "DELETE FROM pending WHERE queue_id = ?1 AND offset IN (SELECT offset FROM messages "
     "WHERE queue_id = ?1 AND offset < ?2 ORDER BY offset LIMIT ?3)"},
    {"trim_messages",
     "DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages "
     "WHERE queue_id = ?1 AND offset < ?2 ORDER BY offset LIMIT ?3)"},
    // The oldest message expires first: expires_ms never decreases along a stream.
    {"update_next_expiry",
     "UPDATE queues SET next_expiry_ms = (SELECT expires_ms FROM messages "
     "WHERE queue_id = ?1 ORDER BY offset LIMIT 1) WHERE queue_id = ?1"},
};

#undef SETTINGS_COLUMNS
#undef MESSAGE_COLUMNS

constexpr const char* sql_of(std::string_view name) {
    for (const auto& s : kSql)
        if (name == s.name) return s.text;
    return nullptr;
}

// Resets a statement when a walk over its rows ends, however it ends.
struct ResetOnExit {
    Statement& statement;
    ~ResetOnExit() { statement.reset(); }
};

// Appends rather than `"\"" + std::string{text}`: GCC 12 at -O3 warns falsely about that
// prepend (-Wrestrict, GCC bug 105329), and warnings are errors.
std::string in_quotes(std::string_view text) {
    std::string quoted;
    quoted.reserve(text.size() + 2);
    quoted.append(1, '"').append(text).append(1, '"');
    return quoted;
}

// Steps a statement that answers at most one row, to the end; the row's first column (an
// integer) or empty. NULL reads as empty too.
Result<std::optional<std::int64_t>> one_integer(Statement& statement) {
    ResetOnExit reset{statement};
    auto row = statement.step();
    if (!row) return row.error();
    if (!*row || statement.is_null(0)) return std::optional<std::int64_t>{};
    return std::optional<std::int64_t>{statement.int64(0)};
}

// Reads the MESSAGE_COLUMNS of the current row.
StoredMessage read_message(const Statement& s, std::string_view queue) {
    StoredMessage m;
    m.queue = std::string{queue};
    m.offset = s.int64(0);
    m.id = std::string{s.text(1)};
    m.direction = static_cast<Direction>(s.int64(2));
    m.client = std::string{s.text(3)};
    m.data = std::string{s.text(4)};
    m.created_ms = s.int64(5);
    m.deliver_at_ms = s.int64(6);
    return m;
}

// Prepares sql once to see whether the tables it names have the columns it uses: a table
// of the same name in another program's database would otherwise make a Statement assert.
Status probe(Db& db, const Sql& sql) {
    sqlite3_stmt* statement = nullptr;
    const int rc = sqlite3_prepare_v2(db.handle(), sql.text, -1, &statement, nullptr);
    const std::string message = rc == SQLITE_OK ? "" : sqlite3_errmsg(db.handle());
    sqlite3_finalize(statement);
    if (rc == SQLITE_OK) return {};
    return make_error(Errc::storage_corrupt, "the streams tables do not have the expected shape (" +
                                                 std::string{sql.name} + ": " + message + ")");
}

// Runs a statement that changes pending rows of one message; unknown_message if none.
Status change_pending(Statement& statement, Db& db, std::string_view id) {
    if (auto ok = statement.run(); !ok) return ok;
    if (db.changes() == 0)
        return make_error(Errc::unknown_message, "message " + in_quotes(id) + " is not pending");
    return {};
}

}  // namespace

struct Streams::Statements {
    explicit Statements(Db& db)
        : savepoint(db, sql_of("savepoint")),
          release(db, sql_of("release")),
          rollback_to(db, sql_of("rollback_to")),
          queue_row(db, sql_of("queue_row")),
          queue_row_copy(db, sql_of("queue_row_copy")),
          queue_by_id(db, sql_of("queue_by_id")),
          insert_queue(db, sql_of("insert_queue")),
          all_queues(db, sql_of("all_queues")),
          list_queues(db, sql_of("list_queues")),
          upsert_settings(db, sql_of("upsert_settings")),
          take_offset(db, sql_of("take_offset")),
          set_next_expiry(db, sql_of("set_next_expiry")),
          insert_message(db, sql_of("insert_message")),
          insert_pending(db, sql_of("insert_pending")),
          insert_scheduled(db, sql_of("insert_scheduled")),
          select_due(db, sql_of("select_due")),
          receive_pending(db, sql_of("receive_pending")),
          delete_pending(db, sql_of("delete_pending")),
          ack(db, sql_of("ack")),
          extend(db, sql_of("extend")),
          release_pending(db, sql_of("release_pending")),
          pending_count(db, sql_of("pending_count")),
          next_due(db, sql_of("next_due")),
          select_scheduled(db, sql_of("select_scheduled")),
          delete_scheduled_row(db, sql_of("delete_scheduled_row")),
          next_scheduled(db, sql_of("next_scheduled")),
          cancel_scheduled(db, sql_of("cancel_scheduled")),
          find_cancellable(db, sql_of("find_cancellable")),
          message_exists(db, sql_of("message_exists")),
          delete_message_row(db, sql_of("delete_message_row")),
          read_all(db, sql_of("read_all")),
          read_client(db, sql_of("read_client")),
          first_at_or_after(db, sql_of("first_at_or_after")),
          appended_bytes(db, sql_of("appended_bytes")),
          expiring_queues(db, sql_of("expiring_queues")),
          trim_pending(db, sql_of("trim_pending")),
          trim_messages(db, sql_of("trim_messages")),
          update_next_expiry(db, sql_of("update_next_expiry")) {}

    Statement savepoint, release, rollback_to;
    Statement queue_row, queue_row_copy, queue_by_id, insert_queue, all_queues, list_queues,
        upsert_settings;
    Statement take_offset, set_next_expiry, insert_message, insert_pending, insert_scheduled;
    Statement select_due, receive_pending, delete_pending, ack, extend, release_pending,
        pending_count, next_due;
    Statement select_scheduled, delete_scheduled_row, next_scheduled, cancel_scheduled,
        find_cancellable, message_exists, delete_message_row;
    Statement read_all, read_client, first_at_or_after, appended_bytes;
    Statement expiring_queues, trim_pending, trim_messages, update_next_expiry;
};

// SAVEPOINT on construction, ROLLBACK TO + RELEASE on destruction unless released: a call
// that writes several times is all-or-nothing inside the caller's transaction.
class Streams::Savepoint {
public:
    explicit Savepoint(Streams& streams) : sql_(*streams.sql_), began_(sql_.savepoint.run()) {}
    ~Savepoint() {
        if (!began_ || released_) return;
        (void)sql_.rollback_to.run();  // fails if SQLite already rolled back everything
        (void)sql_.release.run();
    }
    Savepoint(const Savepoint&) = delete;
    Savepoint& operator=(const Savepoint&) = delete;

    const Status& began() const { return began_; }
    Status release() {
        auto ok = sql_.release.run();
        if (ok) released_ = true;
        return ok;
    }

private:
    Statements& sql_;
    Status began_;
    bool released_ = false;
};

Result<std::unique_ptr<Streams>> Streams::open(Db& db, QueueSettings defaults) {
    assert(defaults.validate().ok() && "Streams::open: invalid default settings");
    // A savepoint by hand: Statements does not exist yet.
    if (auto ok = db.exec("SAVEPOINT streams_open"); !ok) return ok.error();
    const auto fail = [&db](Error error) -> Error {
        (void)db.exec("ROLLBACK TO streams_open; RELEASE streams_open");
        return error;
    };
    if (auto ok = db.exec(kMetaSchema); !ok) return fail(ok.error());
    if (auto ok = probe(db, {"read_version", sql_of("read_version")}); !ok) return fail(ok.error());
    std::int64_t found_version = 0;  // 0: new streams
    {
        Statement read{db, sql_of("read_version")};
        auto version = one_integer(read.bind(1, kSchemaKey));
        if (!version) return fail(version.error());
        found_version = version->value_or(0);
        if (found_version > kSchemaVersion)
            return fail(make_error(
                Errc::storage_corrupt,
                "the streams in this database have schema version " + std::to_string(**version) +
                    ", written by a newer Adashta; this one reads version " +
                    std::to_string(kSchemaVersion) +
                    ": run the newer adashta, or move the data folder aside to start empty"));
    }
    if (auto ok = db.exec(kSchema); !ok) {
        // An index on a column that a table of the same name lacks: another program's data.
        if (ok.error().code == Errc::storage_failed &&
            ok.error().detail.find("no such column") != std::string::npos)
            return fail(make_error(
                Errc::storage_corrupt,
                "the streams tables do not have the expected shape (" + ok.error().detail + ")"));
        return fail(ok.error());
    }
    if (found_version == 1)
        if (auto ok = db.exec(kFromVersion1); !ok) return fail(ok.error());
    for (const auto& sql : kSql)
        if (auto ok = probe(db, sql); !ok) return fail(ok.error());
    {
        Statement write{db, sql_of("write_version")};
        if (auto ok = write.bind(1, kSchemaKey).bind(2, kSchemaVersion).run(); !ok)
            return fail(ok.error());
    }
    if (auto ok = db.exec("RELEASE streams_open"); !ok) return fail(ok.error());
    return std::unique_ptr<Streams>{new Streams{db, std::move(defaults)}};
}

Streams::Streams(Db& db, QueueSettings defaults)
    : db_(db), sql_(std::make_unique<Statements>(db)), defaults_(std::move(defaults)) {}

Streams::~Streams() = default;

QueueSettings Streams::settings_at(const Statement& s, int column) const {
    if (s.int64(column) == 0) return defaults_;  // configured = 0
    QueueSettings out;
    out.retention_ms = s.int64(column + 1);
    out.max_messages = s.int64(column + 2);
    out.max_message_bytes = s.int64(column + 3);
    out.visibility_ms = s.int64(column + 4);
    out.delay_ms = s.int64(column + 5);
    out.max_receive = s.int64(column + 6);
    out.dead_letter = std::string{s.text(column + 7)};
    out.client_schedule = s.int64(column + 8) != 0;
    out.max_bytes = s.int64(column + 9);  // NULL (a queue configured before maxBytes): 0
    return out;
}

Result<std::optional<Streams::QueueRow>> Streams::find_queue(std::string_view queue,
                                                             std::string_view copy_of) {
    Statement& select = copy_of.empty() ? sql_->queue_row : sql_->queue_row_copy;
    ResetOnExit reset{select};
    select.bind(1, queue);
    if (!copy_of.empty()) select.bind(2, copy_of);
    auto row = select.step();
    if (!row) return row.error();
    if (!*row) return std::optional<QueueRow>{};
    QueueRow out;
    out.id = select.int64(0);
    out.next_offset = select.int64(1);
    out.settings = settings_at(select, 2);
    if (!copy_of.empty() && !select.is_null(12)) out.copy = select.int64(12);
    return std::optional<QueueRow>{std::move(out)};
}

Result<std::int64_t> Streams::create_queue(std::string_view queue) {
    auto id = one_integer(sql_->insert_queue.bind(1, queue));
    if (!id) return id.error();
    assert(id->has_value() && "INSERT ... RETURNING answers one row");
    return **id;
}

// --- settings --------------------------------------------------------------------------

QueueSettings Streams::settings(std::string_view queue) {
    auto row = find_queue(queue);
    if (row && *row) return (*row)->settings;
    return defaults_;  // unknown queue, or the store cannot read (its next write will say)
}

Status Streams::set_settings(std::string_view queue, const QueueSettings& settings) {
    ++writes_;
    if (!is_valid_queue_name(queue)) return make_error(Errc::bad_queue, in_quotes(queue));
    if (auto ok = settings.validate(queue); !ok) return ok;
    Statement& upsert = sql_->upsert_settings;
    upsert.bind(1, queue)
        .bind(2, settings.retention_ms)
        .bind(3, settings.max_messages)
        .bind(4, settings.max_message_bytes)
        .bind(5, settings.visibility_ms)
        .bind(6, settings.delay_ms)
        .bind(7, settings.max_receive)
        .bind(8, settings.dead_letter)
        .bind(9, settings.client_schedule ? 1 : 0)
        .bind(10, settings.max_bytes);
    auto id = one_integer(upsert);
    if (!id) return id.error();
    if (*id) {  // a lower max_messages or max_bytes applies at the next expire()
        over_count_.insert(**id);
        if (settings.max_bytes > 0) over_bytes_.insert(**id);
    }
    return {};
}

Result<std::vector<QueueInfo>> Streams::queues() {
    std::vector<QueueInfo> out;
    Statement& list = sql_->list_queues;
    ResetOnExit reset{list};
    for (;;) {
        auto row = list.step();
        if (!row) return row.error();
        if (!*row) break;
        QueueInfo info;
        info.name = std::string{list.text(0)};
        info.next_offset = list.int64(1);
        info.configured = list.int64(2) != 0;
        info.settings = settings_at(list, 2);
        out.push_back(std::move(info));
    }
    return out;
}

// --- writing ---------------------------------------------------------------------------

Result<std::int64_t> Streams::append(StoredMessage& m, std::int64_t now_ms,
                                     std::vector<Due>* hand_out) {
    ++writes_;
    if (!is_valid_queue_name(m.queue)) return make_error(Errc::bad_queue, in_quotes(m.queue));
    if (m.id.empty() || m.id.size() > kMaxIdBytes)
        return make_error(Errc::bad_frame,
                          "a message id must be 1 to " + std::to_string(kMaxIdBytes) + " bytes");
    switch (m.direction) {
        case Direction::to_server:
            break;
        case Direction::to_client:
            if (!is_valid_session_id(m.client))
                return make_error(
                    Errc::bad_session,
                    "a message for one client needs its session id, not " + in_quotes(m.client));
            break;
        case Direction::to_all:
            m.client.clear();  // for everyone: no client, whatever the sender put there
            break;
        case Direction::to_user:
            if (m.client.empty() || m.client.size() > kMaxUserBytes)
                return make_error(Errc::bad_session, "a message for a user needs the user's id (1 to " +
                                                         std::to_string(kMaxUserBytes) + " bytes)");
            // Always: a user may itself be named "u:...", and its key must differ from the
            // key of the user without the prefix.
            m.client = user_key(m.client);
            break;
        default:
            return make_error(Errc::bad_frame, "unknown direction");
    }
    if (m.deliver_at_ms < 0 || m.deliver_at_ms > now_ms + QueueSettings::kMaxDelayMs)
        return make_error(Errc::bad_timeout, "deliver_at must be from now to 365 days ahead");

    // No savepoint on this hot path (it would copy every page the append touches into a
    // sub-journal): each write below is one statement, ordered so that a failure between
    // two of them leaves nothing anyone can see (see store_in_stream).
    auto row = find_queue(m.queue, m.id);
    if (!row) return row.error();
    if (*row && (*row)->copy) {  // a retry of a message already stored: change nothing
        m.offset = *(*row)->copy;
        return m.offset;
    }
    const QueueSettings s = *row ? (*row)->settings : defaults_;
    if (static_cast<std::int64_t>(m.data.size()) > s.max_message_bytes)
        return make_error(Errc::message_too_large,
                          std::to_string(m.data.size()) + " bytes; queue " + in_quotes(m.queue) +
                              " takes up to " + std::to_string(s.max_message_bytes));
    if (m.created_ms <= 0) m.created_ms = now_ms;
    if (m.deliver_at_ms == 0 && s.delay_ms > 0) m.deliver_at_ms = now_ms + s.delay_ms;
    const bool later = m.deliver_at_ms > now_ms;
    if (later && m.direction == Direction::to_server && m.deliver_at_ms > now_ms + s.retention_ms)
        return make_error(Errc::bad_timeout,
                          "deliver_at is " + format_duration(m.deliver_at_ms - now_ms) +
                              " ahead but queue " + in_quotes(m.queue) + " keeps messages for " +
                              format_duration(s.retention_ms) + "; raise its retention");

    std::int64_t id = 0;
    if (*row) {
        id = (*row)->id;
    } else {
        auto created = create_queue(m.queue);  // a queue row alone is harmless
        if (!created) return created.error();
        id = *created;
    }
    if (later && m.direction != Direction::to_server) {
        Statement& insert = sql_->insert_scheduled;
        insert.bind(1, id)
            .bind(2, m.id)
            .bind(3, static_cast<int>(m.direction))
            .bind(4, m.client)
            .bind(5, m.created_ms)
            .bind(6, m.deliver_at_ms)
            .bind(7, m.data);
        if (auto ok = insert.run(); !ok) return ok.error();
        m.offset = 0;
        return m.offset;
    }
    const bool take_now = hand_out && m.direction == Direction::to_server && !later;
    auto offset = store_in_stream(id, s, m, now_ms, take_now);
    if (!offset) return offset.error();
    if (*offset > s.max_messages) over_count_.insert(id);
    if (take_now) hand_out->push_back({.message = m, .receive_count = 1});
    return *offset;
}

// The writes go in an order that makes every prefix of them harmless, so append() needs no
// savepoint: taking the offset alone leaves an offset no message will have (offsets have
// holes anyway: cancel, and rows for other readers); a pending entry without its message is
// never delivered (take_due removes such entries); the message row comes last and
// completes the append.
Result<std::int64_t> Streams::store_in_stream(std::int64_t id, const QueueSettings& settings,
                                              StoredMessage& m, std::int64_t now_ms, bool taken) {
    std::int64_t offset = 0;
    std::int64_t time_ms = 0;
    std::int64_t expires_ms = 0;
    bool was_empty = false;
    const auto bytes = static_cast<std::int64_t>(m.data.size());
    std::int64_t appended = 0;  // the queue's appended_bytes, this message's included
    {
        Statement& take = sql_->take_offset;
        ResetOnExit reset{take};
        auto row =
            take.bind(1, id).bind(2, now_ms).bind(3, settings.retention_ms).bind(4, bytes).step();
        if (!row) return row.error();
        assert(*row && "store_in_stream: the queue row exists");
        offset = take.int64(0);
        time_ms = take.int64(1);
        expires_ms = take.int64(2);
        was_empty = take.int64(3) != 0;
        appended = take.int64(4);
        if (auto done = take.step(); !done) return done.error();  // runs it to its end
    }
    if (was_empty)
        if (auto ok = sql_->set_next_expiry.bind(1, id).bind(2, expires_ms).run(); !ok)
            return ok.error();
    if (m.direction == Direction::to_server) {
        // Taken at once: received once and hidden, as take_due() leaves what it takes.
        const std::int64_t visible_at =
            taken ? now_ms + settings.visibility_ms : std::max(m.deliver_at_ms, now_ms);
        Statement& insert = sql_->insert_pending;
        insert.bind(1, id).bind(2, offset).bind(3, visible_at).bind(4, taken ? 1 : 0);
        if (auto ok = insert.run(); !ok) return ok.error();
    }
    // A message's time is when it entered the stream: what readers see as its ts is then
    // what reads by time (since) compare against, and it never goes back along a stream.
    m.created_ms = time_ms;
    Statement& insert = sql_->insert_message;
    insert.bind(1, id)
        .bind(2, offset)
        .bind(3, m.id)
        .bind(4, static_cast<int>(m.direction))
        .bind(5, m.client)
        .bind(6, m.created_ms)
        .bind(7, m.deliver_at_ms)
        .bind(8, time_ms)
        .bind(9, expires_ms)
        .bind(10, m.data)
        .bind(11, appended - bytes);
    if (auto ok = insert.run(); !ok) return ok.error();
    if (settings.max_bytes > 0 && appended > settings.max_bytes) over_bytes_.insert(id);
    m.offset = offset;
    return offset;
}

// --- client -> server work -------------------------------------------------------------

Result<DueBatch> Streams::take_due(std::int64_t now_ms, std::size_t limit) {
    struct Row {
        std::int64_t queue_id = 0;  // pending's key
        std::int64_t offset = 0;    //
        bool orphan = false;        // a pending entry without its message
        QueueSettings settings;     // the queue's
        Due due;                    // the message, receive_count as stored
    };
    Savepoint savepoint{*this};
    if (!savepoint.began()) return savepoint.began().error();
    // Read the batch first, change it after: updating visible_at while walking its index
    // could meet the same row again.
    std::vector<Row> rows;
    {
        Statement& select = sql_->select_due;
        ResetOnExit reset{select};
        select.bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
        for (;;) {
            auto row = select.step();
            if (!row) return row.error();
            if (!*row) break;
            Row r;
            r.queue_id = select.int64(0);
            r.offset = select.int64(1);
            r.due.receive_count = select.int64(2);
            r.orphan = select.is_null(4);
            r.settings = settings_at(select, 9);
            StoredMessage& m = r.due.message;
            m.queue = std::string{select.text(3)};
            m.offset = r.offset;
            m.id = std::string{select.text(4)};
            m.direction = Direction::to_server;
            m.client = std::string{select.text(5)};
            m.data = std::string{select.text(6)};
            m.created_ms = select.int64(7);
            m.deliver_at_ms = select.int64(8);
            rows.push_back(std::move(r));
        }
    }
    DueBatch batch;
    for (Row& r : rows) {
        if (r.orphan) {
            if (auto ok = sql_->delete_pending.bind(1, r.queue_id).bind(2, r.offset).run(); !ok)
                return ok.error();
            continue;
        }
        if (r.settings.max_receive > 0 && r.due.receive_count >= r.settings.max_receive) {
            if (auto ok = sql_->delete_pending.bind(1, r.queue_id).bind(2, r.offset).run(); !ok)
                return ok.error();
            if (auto ok = dead_letter(r.due, r.settings.dead_letter, now_ms); !ok)
                return ok.error();
            batch.dead_lettered.push_back(std::move(r.due));
            continue;
        }
        ++r.due.receive_count;
        Statement& update = sql_->receive_pending;
        update.bind(1, r.queue_id)
            .bind(2, r.offset)
            .bind(3, r.due.receive_count)
            .bind(4, now_ms + r.settings.visibility_ms);
        if (auto ok = update.run(); !ok) return ok.error();
        batch.due.push_back(std::move(r.due));
    }
    if (auto ok = savepoint.release(); !ok) return ok.error();
    return batch;
}

Status Streams::dead_letter(Due& due, const std::string& target, std::int64_t now_ms) {
    if (target.empty()) return {};  // dropped from pending; the stream keeps it for retention
    due.moved_to = target;
    auto row = find_queue(target, due.message.id);
    if (!row) return row.error();
    // Already there (a loop of dead-letter queues brought it back): nothing to add.
    if (*row && (*row)->copy) return {};
    std::int64_t id = 0;
    if (*row) {
        id = (*row)->id;
    } else {
        auto created = create_queue(target);
        if (!created) return created.error();
        id = *created;
    }
    // Same id, client and data; due at once. No size check: it was accepted once already.
    const QueueSettings s = *row ? (*row)->settings : defaults_;
    StoredMessage copy = due.message;
    copy.queue = target;
    copy.offset = 0;
    copy.deliver_at_ms = 0;
    auto offset = store_in_stream(id, s, copy, now_ms);
    if (!offset) return offset.error();
    if (*offset > s.max_messages) over_count_.insert(id);
    return {};
}

Status Streams::ack(std::string_view id) {
    ++writes_;
    return change_pending(sql_->ack.bind(1, id), db_, id);
}

Status Streams::extend(std::string_view id, std::int64_t visible_at_ms) {
    ++writes_;
    if (visible_at_ms < 0) return make_error(Errc::bad_timeout, "visible_at is negative");
    return change_pending(sql_->extend.bind(1, id).bind(2, visible_at_ms), db_, id);
}

Status Streams::release(std::string_view id, std::int64_t visible_at_ms) {
    ++writes_;
    if (visible_at_ms < 0) return make_error(Errc::bad_timeout, "visible_at is negative");
    return change_pending(sql_->release_pending.bind(1, id).bind(2, visible_at_ms), db_, id);
}

Result<std::int64_t> Streams::pending_count(std::string_view queue) {
    if (!is_valid_queue_name(queue)) return make_error(Errc::bad_queue, in_quotes(queue));
    auto row = find_queue(queue);
    if (!row) return row.error();
    if (!*row) return std::int64_t{0};
    auto count = one_integer(sql_->pending_count.bind(1, (*row)->id));
    if (!count) return count.error();
    return count->value_or(0);
}

Result<std::optional<std::int64_t>> Streams::next_due_ms() {
    return one_integer(sql_->next_due);
}

// --- scheduled server -> client messages -----------------------------------------------

Result<std::vector<StoredMessage>> Streams::take_scheduled(std::int64_t now_ms, std::size_t limit) {
    struct Row {
        std::int64_t rowid = 0;     // scheduled's row
        std::int64_t queue_id = 0;  // the stream it enters
        QueueSettings settings;     // that queue's
        StoredMessage message;      // offset not set yet
    };
    Savepoint savepoint{*this};
    if (!savepoint.began()) return savepoint.began().error();
    std::vector<Row> rows;
    {
        Statement& select = sql_->select_scheduled;
        ResetOnExit reset{select};
        select.bind(1, now_ms).bind(2, static_cast<std::int64_t>(limit));
        for (;;) {
            auto row = select.step();
            if (!row) return row.error();
            if (!*row) break;
            Row r;
            r.rowid = select.int64(0);
            r.queue_id = select.int64(1);
            StoredMessage& m = r.message;
            m.queue = std::string{select.text(2)};
            m.id = std::string{select.text(3)};
            m.direction = static_cast<Direction>(select.int64(4));
            m.client = std::string{select.text(5)};
            m.created_ms = select.int64(6);
            m.deliver_at_ms = select.int64(7);
            m.data = std::string{select.text(8)};
            r.settings = settings_at(select, 9);
            rows.push_back(std::move(r));
        }
    }
    std::vector<StoredMessage> out;
    out.reserve(rows.size());
    for (Row& r : rows) {
        if (auto ok = sql_->delete_scheduled_row.bind(1, r.rowid).run(); !ok) return ok.error();
        auto offset = store_in_stream(r.queue_id, r.settings, r.message, now_ms);
        if (!offset) return offset.error();
        if (*offset > r.settings.max_messages) over_count_.insert(r.queue_id);
        out.push_back(std::move(r.message));
    }
    if (auto ok = savepoint.release(); !ok) return ok.error();
    return out;
}

Result<std::optional<std::int64_t>> Streams::next_scheduled_ms() {
    return one_integer(sql_->next_scheduled);
}

Status Streams::cancel(std::string_view id) {
    ++writes_;
    Savepoint savepoint{*this};
    if (!savepoint.began()) return savepoint.began();
    if (auto ok = sql_->cancel_scheduled.bind(1, id).run(); !ok) return ok;
    bool cancelled = db_.changes() > 0;
    bool delivered = false;
    if (!cancelled) {
        // A to_server message no node has received yet: out of pending and of the stream.
        struct Row {
            std::int64_t rowid, queue_id, offset, receive_count;  // the message and pending
        };
        std::vector<Row> rows;
        {
            Statement& find = sql_->find_cancellable;
            ResetOnExit reset{find};
            find.bind(1, id);
            for (;;) {
                auto row = find.step();
                if (!row) return row.error();
                if (!*row) break;
                rows.push_back({find.int64(0), find.int64(1), find.int64(2), find.int64(3)});
            }
        }
        for (const Row& r : rows) {
            if (r.receive_count > 0) {
                delivered = true;
                continue;
            }
            if (auto ok = sql_->delete_pending.bind(1, r.queue_id).bind(2, r.offset).run(); !ok)
                return ok;
            if (auto ok = sql_->delete_message_row.bind(1, r.rowid).run(); !ok) return ok;
            cancelled = true;
        }
        if (!cancelled && !delivered) {
            auto stored = one_integer(sql_->message_exists.bind(1, id));
            if (!stored) return stored.error();
            delivered = stored->has_value();
        }
    }
    if (auto ok = savepoint.release(); !ok) return ok;
    if (cancelled) return {};
    return make_error(Errc::unknown_message,
                      delivered ? "message " + in_quotes(id) + " was delivered already"
                                : "no message " + in_quotes(id) + " is waiting for delivery");
}

// --- reading ---------------------------------------------------------------------------

Result<std::vector<StoredMessage>> Streams::read(std::string_view queue, const ReadFilter& filter,
                                                 std::int64_t now_ms) {
    if (!is_valid_queue_name(queue)) return make_error(Errc::bad_queue, in_quotes(queue));
    std::vector<StoredMessage> out;
    const std::size_t limit = std::min(filter.limit, kMaxRead);
    if (limit == 0) return out;
    auto row = find_queue(queue);
    if (!row) return row.error();
    if (!*row) return out;
    const QueueRow& q = **row;
    auto oldest = oldest_of(q, now_ms);
    if (!oldest) return oldest.error();
    std::int64_t from = std::max(filter.from_offset, *oldest);
    if (filter.since_ms > 0) {
        auto since =
            first_offset_where(q.id, from, q.next_offset, Ordered::time_ms, filter.since_ms);
        if (!since) return since.error();
        from = *since;
    }
    if (from >= q.next_offset) return out;

    Statement& select = filter.everything ? sql_->read_all : sql_->read_client;
    ResetOnExit reset{select};
    select.bind(1, q.id).bind(2, from).bind(3, now_ms);
    if (filter.everything)
        select.bind(4, filter.include_scheduled ? 1 : 0);
    else
        select.bind(4, filter.session);
    select.bind(5, static_cast<std::int64_t>(limit));
    if (!filter.everything) select.bind(6, filter.user.empty() ? std::string{} : user_key(filter.user));
    std::size_t bytes = 0;
    for (;;) {
        auto step = select.step();
        if (!step) return step.error();
        if (!*step) break;
        StoredMessage m = read_message(select, queue);
        bytes += read_cost(m);
        if (filter.max_bytes > 0 && !out.empty() && bytes > filter.max_bytes) break;
        out.push_back(std::move(m));
    }
    return out;
}

Result<std::int64_t> Streams::oldest_of(const QueueRow& q, std::int64_t now_ms) {
    // Expiry and trimming both take prefixes of the offsets (see the top of this file), so
    // the first message still alive marks where the losses end.
    auto live = first_live(q.id, q.next_offset, now_ms);
    if (!live) return live.error();
    auto by_bytes = first_within_bytes(q.id, q.next_offset, q.settings.max_bytes);
    if (!by_bytes) return by_bytes.error();
    return std::max({*live, q.next_offset - q.settings.max_messages, *by_bytes});
}

Result<std::int64_t> Streams::first_within_bytes(std::int64_t id, std::int64_t end,
                                                 std::int64_t max_bytes) {
    if (max_bytes <= 0) return std::int64_t{1};
    auto appended = one_integer(sql_->appended_bytes.bind(1, id));
    if (!appended) return appended.error();
    const std::int64_t total = appended->value_or(0);
    if (total <= max_bytes) return std::int64_t{1};
    // Kept: start_bytes >= total - max_bytes. A gap found at the cut holds nothing kept.
    return first_offset_where(id, 1, end, Ordered::start_bytes, total - max_bytes);
}

Result<std::int64_t> Streams::first_live(std::int64_t id, std::int64_t end, std::int64_t now_ms) {
    auto from = first_offset_where(id, 1, end, Ordered::expires_ms, now_ms + 1);
    if (!from || *from >= end) return from;
    // The search stops at the start of a gap as readily as at a message: the message
    // after it is the one that counts.
    Statement& probe = sql_->first_at_or_after;
    ResetOnExit reset{probe};
    auto row = probe.bind(1, id).bind(2, *from).step();
    if (!row) return row.error();
    return *row ? probe.int64(0) : end;
}

Result<std::int64_t> Streams::first_offset_where(std::int64_t id, std::int64_t from,
                                                 std::int64_t end, Ordered column,
                                                 std::int64_t at_least) {
    // The column never decreases along a stream, so binary search over the offsets
    // [from, end): lo only passes messages below at_least; from hi on, none is below it.
    std::int64_t lo = from;
    std::int64_t hi = end;
    Statement& probe = sql_->first_at_or_after;
    const int at = column == Ordered::time_ms ? 1 : column == Ordered::expires_ms ? 2 : 3;
    while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        ResetOnExit reset{probe};
        auto row = probe.bind(1, id).bind(2, mid).step();
        if (!row) return row.error();
        if (!*row || probe.int64(0) >= hi || probe.int64(at) >= at_least)
            hi = mid;  // nothing below at_least from mid on (up to hi)
        else
            lo = probe.int64(0) + 1;
    }
    return lo;
}

Result<std::int64_t> Streams::oldest_offset(std::string_view queue, std::int64_t now_ms) {
    if (!is_valid_queue_name(queue)) return make_error(Errc::bad_queue, in_quotes(queue));
    auto row = find_queue(queue);
    if (!row) return row.error();
    if (!*row) return std::int64_t{1};
    return oldest_of(**row, now_ms);
}

Result<std::int64_t> Streams::next_offset(std::string_view queue) {
    if (!is_valid_queue_name(queue)) return make_error(Errc::bad_queue, in_quotes(queue));
    auto row = find_queue(queue);
    if (!row) return row.error();
    return *row ? (*row)->next_offset : std::int64_t{1};
}

// --- retention -------------------------------------------------------------------------

Result<std::size_t> Streams::expire(std::int64_t now_ms, std::size_t budget) {
    ++writes_;
    Savepoint savepoint{*this};
    if (!savepoint.began()) return savepoint.began().error();
    auto by_time = expire_by_time(now_ms, budget);
    if (!by_time) return by_time.error();
    auto by_count = expire_by_count(budget - *by_time);
    if (!by_count) return by_count.error();
    auto by_bytes = expire_by_bytes(budget - *by_time - *by_count);
    if (!by_bytes) return by_bytes.error();
    if (auto ok = savepoint.release(); !ok) return ok.error();
    return *by_time + *by_count + *by_bytes;
}

Result<std::size_t> Streams::expire_by_time(std::int64_t now_ms, std::size_t budget) {
    if (budget == 0) return std::size_t{0};
    // The queues with something past its time, earliest first.
    std::vector<std::int64_t> ids;
    {
        Statement& select = sql_->expiring_queues;
        ResetOnExit reset{select};
        select.bind(1, now_ms).bind(2, static_cast<std::int64_t>(budget));
        for (;;) {
            auto row = select.step();
            if (!row) return row.error();
            if (!*row) break;
            ids.push_back(select.int64(0));
        }
    }
    std::size_t deleted = 0;
    for (const std::int64_t id : ids) {
        std::int64_t end = 0;  // the queue's next offset
        {
            Statement& row = sql_->queue_by_id;
            ResetOnExit reset{row};
            auto found = row.bind(1, id).step();
            if (!found) return found.error();
            if (!*found) continue;
            end = row.int64(1);
        }
        // What expired is the prefix below the first message still alive.
        auto cut = first_live(id, end, now_ms);
        if (!cut) return cut.error();
        const auto left = static_cast<std::int64_t>(budget - deleted);
        if (auto ok = sql_->trim_pending.bind(1, id).bind(2, *cut).bind(3, left).run(); !ok)
            return ok.error();
        if (auto ok = sql_->trim_messages.bind(1, id).bind(2, *cut).bind(3, left).run(); !ok)
            return ok.error();
        deleted += static_cast<std::size_t>(db_.changes());
        if (auto ok = sql_->update_next_expiry.bind(1, id).run(); !ok) return ok.error();
        if (deleted == budget) break;
    }
    return deleted;
}

Result<std::size_t> Streams::expire_by_count(std::size_t budget) {
    return trim_over(over_count_, seed_over_count_, budget,
                     [](std::int64_t, std::int64_t next_offset, const QueueSettings& s) {
                         return next_offset - 1 > s.max_messages;
                     },
                     [](std::int64_t, std::int64_t next_offset,
                        const QueueSettings& s) -> Result<std::int64_t> {
                         return next_offset - s.max_messages;
                     });
}

Result<std::size_t> Streams::expire_by_bytes(std::size_t budget) {
    return trim_over(over_bytes_, seed_over_bytes_, budget,
                     [](std::int64_t, std::int64_t, const QueueSettings& s) {
                         return s.max_bytes > 0;
                     },
                     [this](std::int64_t id, std::int64_t next_offset, const QueueSettings& s) {
                         return first_within_bytes(id, next_offset, s.max_bytes);
                     });
}

Result<std::size_t> Streams::trim_over(std::unordered_set<std::int64_t>& over, bool& seed,
                                       std::size_t budget, const QueueTest& may_be_over,
                                       const CutOf& cut_of) {
    if (seed) {
        Statement& all = sql_->all_queues;
        ResetOnExit reset{all};
        for (;;) {
            auto row = all.step();
            if (!row) return row.error();
            if (!*row) break;
            if (may_be_over(all.int64(0), all.int64(1), settings_at(all, 2)))
                over.insert(all.int64(0));
        }
        seed = false;
    }
    std::size_t deleted = 0;
    for (auto it = over.begin(); it != over.end() && deleted < budget;) {
        const std::int64_t id = *it;
        std::int64_t cut = 0;  // offsets below it go
        {
            std::int64_t next_offset = 0;
            QueueSettings settings;
            {
                Statement& row = sql_->queue_by_id;
                ResetOnExit reset{row};
                auto found = row.bind(1, id).step();
                if (!found) return found.error();
                if (*found) {
                    next_offset = row.int64(1);
                    settings = settings_at(row, 2);
                }
            }
            if (next_offset > 0) {
                auto found = cut_of(id, next_offset, settings);
                if (!found) return found.error();
                cut = *found;
            }
        }
        const auto left = static_cast<std::int64_t>(budget - deleted);
        std::size_t trimmed = 0;
        if (cut > 1) {
            if (auto ok = sql_->trim_pending.bind(1, id).bind(2, cut).bind(3, left).run(); !ok)
                return ok.error();
            if (auto ok = sql_->trim_messages.bind(1, id).bind(2, cut).bind(3, left).run(); !ok)
                return ok.error();
            trimmed = static_cast<std::size_t>(db_.changes());
            if (trimmed > 0)
                if (auto ok = sql_->update_next_expiry.bind(1, id).run(); !ok) return ok.error();
        }
        deleted += trimmed;
        // Fewer than allowed means nothing is left below the cut; the next append past the
        // limit puts the queue back.
        if (static_cast<std::int64_t>(trimmed) < left)
            it = over.erase(it);
        else
            ++it;
    }
    return deleted;
}

}  // namespace adashta::store
