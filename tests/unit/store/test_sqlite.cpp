#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "adashta/store/sqlite.hpp"

#include "temp_dir.hpp"

using namespace adashta;
using namespace adashta::store;
namespace fs = std::filesystem;

namespace {

using adashta::test::TempDir;

std::int64_t count(Db& db) {
    Statement q{db, "SELECT count(*) FROM t"};
    REQUIRE(*q.step());
    return q.int64(0);
}

}  // namespace

TEST_CASE("a committed transaction stays, one that is dropped rolls back", "[sqlite]") {
    TempDir dir;
    auto db = Db::open((dir.path / "s.db").string());
    REQUIRE(db);
    REQUIRE((*db)->exec("CREATE TABLE t(a INTEGER, b TEXT)"));
    Statement insert{**db, "INSERT INTO t(a, b) VALUES (?1, ?2)"};
    {
        Transaction tx{**db};
        REQUIRE(tx.began());
        REQUIRE(insert.bind(1, 1).bind(2, "one").run());
        REQUIRE(tx.commit());
    }
    {
        Transaction tx{**db};
        REQUIRE(insert.bind(1, 2).bind(2, "two").run());
    }  // not committed
    CHECK(count(**db) == 1);
    Statement read{**db, "SELECT a, b FROM t"};
    REQUIRE(*read.step());
    CHECK(read.int64(0) == 1);
    CHECK(read.text(1) == "one");
    CHECK_FALSE(*read.step());
}

TEST_CASE("blobs keep every byte, zeros included", "[sqlite]") {
    TempDir dir;
    auto db = Db::open((dir.path / "s.db").string());
    REQUIRE(db);
    REQUIRE((*db)->exec("CREATE TABLE t(v BLOB)"));
    const std::string bytes{"a\0b\xff", 4};
    Statement insert{**db, "INSERT INTO t(v) VALUES (?1)"};
    REQUIRE(insert.bind_blob(1, bytes).run());
    Statement read{**db, "SELECT v FROM t"};
    REQUIRE(*read.step());
    CHECK(read.text(0) == bytes);
}

TEST_CASE("a full database says storage_full and keeps what it had", "[sqlite]") {
    TempDir dir;
    auto db = Db::open((dir.path / "s.db").string());
    REQUIRE(db);
    REQUIRE((*db)->exec("CREATE TABLE t(a INTEGER, b TEXT); PRAGMA max_page_count=20"));
    Statement insert{**db, "INSERT INTO t(a, b) VALUES (?1, ?2)"};
    const std::string big(1000, 'x');
    Status failed;
    int stored = 0;
    for (int i = 0; i < 1000 && failed.ok(); ++i) {
        Transaction tx{**db};
        failed = insert.bind(1, i).bind(2, big).run();
        if (failed) failed = tx.commit();
        if (failed) ++stored;
    }
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == Errc::storage_full);
    CHECK(count(**db) == stored);
}

TEST_CASE("a file that is not a database says storage_corrupt", "[sqlite]") {
    TempDir dir;
    const auto path = dir.path / "s.db";
    std::ofstream{path} << std::string(8192, 'z');
    auto db = Db::open(path.string());
    REQUIRE_FALSE(db);
    CHECK(db.error().code == Errc::storage_corrupt);
}

TEST_CASE("a folder that does not exist says storage_failed with the path", "[sqlite]") {
    auto db = Db::open("/nonexistent-adashta-dir/s.db");
    REQUIRE_FALSE(db);
    CHECK(db.error().code == Errc::storage_failed);
    CHECK(db.error().detail.find("/nonexistent-adashta-dir/s.db") != std::string::npos);
}

TEST_CASE("quick_check finds a sound file sound, and stops in part when out of time", "[sqlite]") {
    TempDir dir;
    auto db = Db::open((dir.path / "s.db").string());
    REQUIRE(db);
    REQUIRE((*db)->exec("CREATE TABLE t(a INTEGER, b TEXT); CREATE INDEX t_b ON t(b);"
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                        "WHERE i < 20000) INSERT INTO t SELECT i, hex(randomblob(40)) FROM n;"));
    auto whole = (*db)->quick_check(std::chrono::seconds{30});
    REQUIRE(whole);
    CHECK(whole->complete);
    CHECK(whole->problems.empty());
    auto part = (*db)->quick_check(std::chrono::milliseconds{0});
    REQUIRE(part);
    CHECK_FALSE(part->complete);
    CHECK(part->problems.empty());
    // The connection works on afterwards (the handler is gone).
    REQUIRE((*db)->exec("INSERT INTO t VALUES (0, 'x')"));
}

TEST_CASE("query answers rows as text, and SQL that does not prepare is an error", "[sqlite]") {
    TempDir dir;
    auto db = Db::open((dir.path / "s.db").string());
    REQUIRE(db);
    REQUIRE((*db)->exec("CREATE TABLE t(a INTEGER, b TEXT); INSERT INTO t VALUES (1, NULL), (2, 'two')"));
    auto rows = (*db)->query("SELECT a, b FROM t ORDER BY a");
    REQUIRE(rows);
    CHECK(*rows == std::vector<std::vector<std::string>>{{"1", ""}, {"2", "two"}});
    auto missing = (*db)->query("SELECT x FROM nowhere");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::storage_failed);
}
