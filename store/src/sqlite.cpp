#include "adashta/store/sqlite.hpp"

#include <sqlite3.h>

#include <cassert>

namespace adashta::store {
namespace {

Error error_for(int code, std::string detail) {
    switch (code & 0xff) {
        case SQLITE_FULL:
            return make_error(Errc::storage_full, std::move(detail));
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return make_error(Errc::storage_corrupt, std::move(detail));
        default:
            return make_error(Errc::storage_failed, std::move(detail));
    }
}

}  // namespace

Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool durable) {
    // Before SQLite's first use: no memory statistics, whose global mutex every allocation
    // of every statement would take. (Once SQLite is initialised this is refused, harmlessly.)
    [[maybe_unused]] static const int no_memstatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3* raw = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string detail = path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
        sqlite3_close(raw);
        return error_for(rc, std::move(detail));
    }
    std::unique_ptr<Db> db{new Db{raw}};
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, 5000);
    // journal_mode answers with a row. A file that is not a database fails here, at run
    // time, so this is prepared by hand rather than by Statement (which asserts on SQL
    // that does not prepare: a programming error).
    sqlite3_stmt* wal = nullptr;
    int wal_rc = sqlite3_prepare_v2(raw, "PRAGMA journal_mode=WAL", -1, &wal, nullptr);
    if (wal_rc == SQLITE_OK) wal_rc = sqlite3_step(wal);
    const bool in_wal =
        wal_rc == SQLITE_ROW &&
        std::string_view{reinterpret_cast<const char*>(sqlite3_column_text(wal, 0))} == "wal";
    sqlite3_finalize(wal);
    if (wal_rc != SQLITE_ROW) return error_for(wal_rc, path + ": " + sqlite3_errmsg(raw));
    if (!in_wal)
        return make_error(Errc::storage_failed, path + ": cannot switch the journal to WAL");
    const std::string pragmas = std::string{"PRAGMA foreign_keys=ON; PRAGMA synchronous="} +
                                (durable ? "FULL" : "NORMAL") + ";";
    if (auto ok = db->exec(pragmas); !ok) return ok.error();
    return db;
}

Db::~Db() {
    for (sqlite3_stmt* statement : control_) sqlite3_finalize(statement);
    sqlite3_close_v2(db_);
}

Status Db::run(Control control) {
    static constexpr std::string_view kSql[] = {"BEGIN IMMEDIATE", "BEGIN", "COMMIT", "ROLLBACK"};
    const auto index = static_cast<std::size_t>(control);
    sqlite3_stmt*& statement = control_[index];
    if (!statement) {
        const std::string_view sql = kSql[index];
        const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
        if (rc != SQLITE_OK) return last_error(sql);
    }
    const int rc = sqlite3_step(statement);
    Status status = rc == SQLITE_DONE ? Status{} : Status{last_error(kSql[index])};
    sqlite3_reset(statement);
    return status;
}

Status Db::exec(std::string_view sql) {
    const std::string text{sql};
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return {};
    std::string detail = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return error_for(rc, std::move(detail));
}

Result<std::vector<std::vector<std::string>>> Db::query(std::string_view sql,
                                                         std::size_t max_rows) {
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement,
                                nullptr);
    if (rc != SQLITE_OK) {
        Error error = last_error(sql);
        sqlite3_finalize(statement);
        return error;
    }
    std::vector<std::vector<std::string>> rows;
    while (rows.size() < max_rows && (rc = sqlite3_step(statement)) == SQLITE_ROW) {
        auto& row = rows.emplace_back();
        for (int i = 0; i < sqlite3_column_count(statement); ++i) {
            const auto* text = sqlite3_column_text(statement, i);
            row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
        }
    }
    Status status = rc == SQLITE_ROW || rc == SQLITE_DONE ? Status{} : Status{last_error(sql)};
    sqlite3_finalize(statement);
    if (!status) return status.error();
    return rows;
}

Result<Db::Check> Db::quick_check(std::chrono::milliseconds budget) {
    // SQLite calls the progress handler every 1000 virtual machine steps; a non-zero answer
    // interrupts the statement (SQLITE_INTERRUPT), which here means "checked in part".
    using Clock = std::chrono::steady_clock;
    struct Deadline {
        Clock::time_point at;
        bool passed = false;
    } deadline{Clock::now() + budget};
    sqlite3_progress_handler(
        db_, 1000,
        [](void* arg) {
            auto* d = static_cast<Deadline*>(arg);
            d->passed = d->passed || Clock::now() >= d->at;
            return d->passed ? 1 : 0;
        },
        &deadline);
    auto rows = query("PRAGMA quick_check(20)", 20);
    sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    Check check;
    if (!rows) {
        if (!deadline.passed) return rows.error();
        check.complete = false;
        return check;
    }
    for (auto& row : *rows)
        if (!row.empty() && row[0] != "ok") check.problems.push_back(std::move(row[0]));
    return check;
}

Error Db::last_error(std::string_view doing) const {
    return error_for(sqlite3_extended_errcode(db_),
                     std::string{doing} + ": " + sqlite3_errmsg(db_));
}

std::int64_t Db::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(db_);
}
bool Db::in_transaction() const {
    return sqlite3_get_autocommit(db_) == 0;
}

int Db::changes() const {
    return sqlite3_changes(db_);
}

Statement::Statement(Db& db, std::string_view sql) : db_(db) {
    const int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    assert(rc == SQLITE_OK && "Statement: the SQL does not prepare (see sqlite3_errmsg)");
    (void)rc;
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
    note_bind(sqlite3_bind_int64(stmt_, index, value));
    return *this;
}

Statement& Statement::bind(int index, double value) {
    note_bind(sqlite3_bind_double(stmt_, index, value));
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    note_bind(
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
    note_bind(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
    return *this;
}

Statement& Statement::bind_null(int index) {
    note_bind(sqlite3_bind_null(stmt_, index));
    return *this;
}

void Statement::note_bind(int rc) {
    if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

Result<bool> Statement::step() {
    if (bind_error_ != SQLITE_OK) {
        // A value that did not bind (too big, say) must not run with the previous value.
        const int rc = bind_error_;
        bind_error_ = SQLITE_OK;
        sqlite3_reset(stmt_);
        if (rc == SQLITE_TOOBIG) return make_error(Errc::message_too_large, sqlite3_errstr(rc));
        return error_for(rc, std::string{"bind: "} + sqlite3_errstr(rc));
    }
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Error error = db_.last_error("step");
    sqlite3_reset(stmt_);
    return error;
}

Status Statement::run() {
    for (;;) {
        auto row = step();
        if (!row) return row.error();  // step() has reset it
        if (!*row) break;
    }
    reset();
    return {};
}

void Statement::reset() {
    sqlite3_reset(stmt_);
}

std::int64_t Statement::int64(int column) const {
    return sqlite3_column_int64(stmt_, column);
}
double Statement::real(int column) const {
    return sqlite3_column_double(stmt_, column);
}

std::string_view Statement::text(int column) const {
    const auto* p = sqlite3_column_blob(stmt_, column);  // text or blob, no conversion
    const int n = sqlite3_column_bytes(stmt_, column);
    return p ? std::string_view{static_cast<const char*>(p), static_cast<std::size_t>(n)}
             : std::string_view{};
}

bool Statement::is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Transaction::Transaction(Db& db, Kind kind)
    : db_(db),
      began_(db.run(kind == Kind::write ? Db::Control::begin_immediate
                                        : Db::Control::begin_deferred)) {
    open_ = began_.ok();
}

Transaction::~Transaction() {
    if (open_) (void)db_.run(Db::Control::rollback);
}

Status Transaction::commit() {
    assert(open_ && "Transaction::commit without an open transaction");
    auto ok = db_.run(Db::Control::commit);
    if (ok) open_ = false;  // on failure the destructor rolls back
    return ok;
}

}  // namespace adashta::store
