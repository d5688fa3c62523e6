// A thin, honest layer over SQLite: a connection opened the way the store wants it (WAL,
// foreign keys, busy timeout), prepared statements with RAII and typed bind/read, and
// BEGIN IMMEDIATE transactions. Failures come back as Errors from the catalogue:
// storage_full (SQLITE_FULL), storage_corrupt (SQLITE_CORRUPT / SQLITE_NOTADB), else
// storage_failed with SQLite's own message as the detail.
//
//   auto db = Db::open("adashta-data/store.db");
//   if (!db) return db.error();
//   Statement insert{*db, "INSERT INTO t(a, b) VALUES (?1, ?2)"};
//   Transaction tx{*db};                      // BEGIN IMMEDIATE
//   insert.bind(1, 42).bind(2, "text");
//   if (auto ok = insert.run(); !ok) return ok;  // resets the statement either way
//   if (auto ok = tx.commit(); !ok) return ok;   // rolled back if not committed
//
// Not thread-safe: one Db and its statements belong to one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace adashta::store {

class Db {
public:
    // Opens (creating if missing) the database at path in WAL mode with synchronous=NORMAL
    // ... or FULL when durable is true, which makes every commit survive power loss.
    static Result<std::unique_ptr<Db>> open(const std::string& path, bool durable = false);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    // Runs one or more statements without results (schema, pragmas).
    Status exec(std::string_view sql);
    // The rows of one statement, each row its columns as text (NULL as ""), at most
    // max_rows of them. Unlike Statement, SQL that does not prepare is an Error, not an
    // assertion: for questions about a file that may be anyone's (does it have table x?).
    Result<std::vector<std::vector<std::string>>> query(std::string_view sql,
                                                        std::size_t max_rows = 100);
    // PRAGMA quick_check, stopped after budget: the problems it found (at most 20; none
    // when the file is sound) and whether it checked the whole file.
    struct Check {
        std::vector<std::string> problems;
        bool complete = true;
    };
    Result<Check> quick_check(std::chrono::milliseconds budget);
    // Transaction control, each statement prepared once: the store runs a pair per batch,
    // and parsing them anew each time showed in profiles.
    enum class Control { begin_immediate, begin_deferred, commit, rollback };
    Status run(Control control);
    // The error for the last failed call on this connection (SQLite's code and message).
    Error last_error(std::string_view doing) const;
    std::int64_t last_insert_rowid() const;
    int changes() const;  // rows changed by the last statement
    // False outside BEGIN ... COMMIT, and after SQLite rolled a transaction back by itself
    // (SQLITE_FULL, for one): the caller must then treat all its work as undone.
    bool in_transaction() const;
    sqlite3* handle() const { return db_; }

private:
    explicit Db(sqlite3* db) : db_(db) {}
    sqlite3* db_;                    // owned
    sqlite3_stmt* control_[4] = {};  // by Control, prepared on first use; owned
};

class Statement {
public:
    // Prepares sql for db; a mistake in sql is a programming error and asserts.
    Statement(Db& db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Parameters are numbered from 1 (?1, ?2, ...). Text and blobs are copied.
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view{text}); }
    Statement& bind_blob(int index, std::string_view bytes);
    Statement& bind_null(int index);

    // Steps once: true with a row to read, false when done; an error stops the walk.
    Result<bool> step();
    // Steps to the end (INSERT/UPDATE/DELETE) and resets.
    Status run();
    // Clears the current walk (bindings stay) so the statement can run again.
    void reset();

    // Columns of the current row, numbered from 0. Text views are valid until the next step.
    std::int64_t int64(int column) const;
    double real(int column) const;
    std::string_view text(int column) const;
    bool is_null(int column) const;

private:
    void note_bind(int rc);  // keeps the first failed bind for step() to report

    Db& db_;
    sqlite3_stmt* stmt_ = nullptr;  // owned
    int bind_error_ = 0;            // SQLite code of the first failed bind since the last step
};

// BEGIN IMMEDIATE on construction (the write lock is taken at once, so the transaction
// never fails half-way on a lock upgrade); ROLLBACK on destruction unless committed.
class Transaction {
public:
    enum class Kind { write, read };  // BEGIN IMMEDIATE, or a deferred BEGIN that only reads
    explicit Transaction(Db& db, Kind kind = Kind::write);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    bool began() const { return began_.ok(); }
    const Status& begin_status() const { return began_; }
    Status commit();

private:
    Db& db_;
    Status began_;
    bool open_ = false;  // began and neither committed nor rolled back
};

}  // namespace adashta::store
