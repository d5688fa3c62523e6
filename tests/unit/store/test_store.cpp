#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "adashta/store/sqlite.hpp"
#include "adashta/store/store.hpp"

#include "numbered.hpp"
#include "temp_dir.hpp"

using namespace adashta;
using namespace adashta::store;
namespace fs = std::filesystem;

namespace {

using adashta::test::TempDir;

// Collects what the store thread hands out, for the test thread to wait on.
struct Events : StoreEvents {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<Due> due;
    std::vector<Status> done;

    void on_due(std::vector<Due> d) override {
        std::lock_guard lock{mutex};
        for (auto& one : d) due.push_back(std::move(one));
        changed.notify_all();
    }
    Store::Done record() {
        return [this](const Status& status) {
            std::lock_guard lock{mutex};
            done.push_back(status);
            changed.notify_all();
        };
    }
    // Waits until `n` completions and `n_due` due messages came in; false after 5 s.
    bool wait_done(std::size_t n, std::size_t n_due = 0) {
        std::unique_lock lock{mutex};
        return changed.wait_for(lock, std::chrono::seconds{5},
                                [&] { return done.size() >= n && due.size() >= n_due; });
    }
};

StoredMessage client_message(std::string id) {
    StoredMessage m;
    m.id = std::move(id);
    m.queue = "orders";
    m.direction = Direction::to_server;
    m.client = "s-alice-0001";
    m.data = R"({"n":1})";
    return m;
}

Status ok_or_error(const Result<std::int64_t>& offset) {
    if (!offset) return offset.error();
    return {};
}

// Client messages of queue "orders" not acknowledged yet, read through the store thread.
std::int64_t pending_orders(Store& store, Events& events) {
    Result<std::int64_t> count = std::int64_t{0};
    std::size_t done = 0;
    {
        std::lock_guard lock{events.mutex};
        done = events.done.size();
    }
    store.read(
        [&](Tx& tx) -> Status {
            count = tx.streams.pending_count("orders");
            return {};
        },
        events.record());
    REQUIRE(events.wait_done(done + 1));
    REQUIRE(count);
    return *count;
}

}  // namespace

TEST_CASE("messages handed out in a batch go out once it committed, failed pieces' do not",
          "[store]") {
    TempDir dir;
    Events events;
    auto opened = Store::open({.path = (dir.path / "store.db").string()}, events);
    REQUIRE(opened);
    Store& store = **opened;

    // Queued before the thread starts, so all three run in one batch.
    store.write(
        [](Tx& tx) {
            StoredMessage m = client_message("m1");
            return ok_or_error(tx.streams.append(m, tx.now_ms, tx.hand_out));
        },
        events.record(), Atomic::ordered);
    store.write(
        [](Tx& tx) -> Status {
            StoredMessage m = client_message("m2");
            if (auto ok = tx.streams.append(m, tx.now_ms, tx.hand_out); !ok) return ok.error();
            return make_error(Errc::bad_frame, "refused after the append");
        },
        events.record());
    store.write(
        [](Tx& tx) {
            StoredMessage m = client_message("m3");
            return ok_or_error(tx.streams.append(m, tx.now_ms, tx.hand_out));
        },
        events.record(), Atomic::ordered);
    store.start();
    // on_due comes after the completions: wait for both (and for nothing more than two).
    REQUIRE(events.wait_done(3, 2));
    {
        std::lock_guard lock{events.mutex};
        CHECK(events.done[0]);
        CHECK_FALSE(events.done[1]);
        CHECK(events.done[2]);
        REQUIRE(events.due.size() == 2);
        CHECK(events.due[0].message.id == "m1");
        CHECK(events.due[1].message.id == "m3");
        CHECK(events.due[0].receive_count == 1);
    }

    // m2 was rolled back with its savepoint; m1 and m3 are pending until acked.
    CHECK(pending_orders(store, events) == 2);
    store.write([](Tx& tx) { return tx.streams.ack("m1"); }, events.record(), Atomic::ordered);
    store.write([](Tx& tx) { return tx.streams.ack("m3"); }, events.record(), Atomic::ordered);
    REQUIRE(events.wait_done(6));  // three pieces, one read, two acks
    CHECK(pending_orders(store, events) == 0);
}

TEST_CASE("a message comes due again while only work-queue calls keep the store busy", "[store]") {
    TempDir dir;
    Events events;
    QueueSettings quick;
    quick.visibility_ms = 50;
    auto opened = Store::open(
        {.path = (dir.path / "store.db").string(), .queues = {{"orders", quick}}}, events);
    REQUIRE(opened);
    Store& store = **opened;
    store.start();
    store.write(
        [](Tx& tx) {
            StoredMessage m = client_message("m1");
            return ok_or_error(tx.streams.append(m, tx.now_ms, tx.hand_out));
        },
        events.record(), Atomic::ordered);
    store.write([](Tx& tx) { return tx.work.create_queue("jobs", {}, tx.now_ms); },
                events.record());
    REQUIRE(events.wait_done(2, 1));
    // Batches that touch no stream skip the look for due messages; the redelivery must come
    // all the same, once its visibility timeout is over.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    std::size_t sent = 0;
    for (;;) {
        {
            std::lock_guard lock{events.mutex};
            if (events.due.size() >= 2) break;
        }
        REQUIRE(std::chrono::steady_clock::now() < give_up);
        store.write(
            [](Tx& tx) -> Status {
                auto id = tx.work.send("jobs", "a job", std::nullopt, tx.now_ms);
                return id ? Status{} : Status{id.error()};
            },
            events.record());
        REQUIRE(events.wait_done(2 + ++sent));
    }
    std::lock_guard lock{events.mutex};
    CHECK(events.due[1].message.id == "m1");
    CHECK(events.due[1].receive_count == 2);
}

TEST_CASE("the log is copied back into the database while the store keeps running", "[store]") {
    TempDir dir;
    Events events;
    const fs::path db_path = dir.path / "store.db";
    auto opened = Store::open({.path = db_path.string()}, events);
    REQUIRE(opened);
    Store& store = **opened;
    store.start();
    // About 2,500 pages of log: past the checkpoint threshold, far below the writer's own.
    constexpr int kMessages = 500;
    const std::string data = "\"" + std::string(20'000, 'x') + "\"";
    for (int i = 0; i < kMessages; ++i)
        store.write(
            [i, &data](Tx& tx) -> Status {
                StoredMessage m = client_message(numbered("m", i));
                m.data = data;
                if (auto offset = tx.streams.append(m, tx.now_ms); !offset) return offset.error();
                return {};
            },
            events.record(), Atomic::ordered);
    REQUIRE(events.wait_done(kMessages));
    // The database file grows only when a checkpoint copies pages into it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    while (fs::file_size(db_path) < 5'000'000 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    CHECK(fs::file_size(db_path) >= 5'000'000);
    CHECK(fs::exists(dir.path / "store.db-wal"));
}

namespace {

// Appends n messages of queue "orders" (with ids m0...), through the store thread.
void append_orders(Store& store, Events& events, int n, std::size_t data_bytes = 8) {
    std::size_t done = 0;
    {
        std::lock_guard lock{events.mutex};
        done = events.done.size();
    }
    for (int i = 0; i < n; ++i)
        store.write(
            [i, data_bytes](Tx& tx) {
                StoredMessage m = client_message("m" + std::to_string(i));
                m.data = "\"" + std::string(data_bytes, 'x') + "\"";
                return ok_or_error(tx.streams.append(m, tx.now_ms, tx.hand_out));
            },
            events.record(), Atomic::ordered);
    REQUIRE(events.wait_done(done + static_cast<std::size_t>(n)));
}

std::vector<std::string> table_names(const fs::path& file) {
    auto db = Db::open(file.string());
    REQUIRE(db);
    auto rows = (*db)->query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    REQUIRE(rows);
    std::vector<std::string> names;
    for (auto& row : *rows) names.push_back(row.front());
    return names;
}

}  // namespace

TEST_CASE("another program's database is refused and left as it was", "[store]") {
    TempDir dir;
    const fs::path file = dir.path / "store.db";
    {
        auto db = Db::open(file.string());
        REQUIRE(db);
        REQUIRE((*db)->exec("CREATE TABLE customers(name TEXT); INSERT INTO customers VALUES ('x')"));
    }
    Events events;
    auto opened = Store::open({.path = file.string()}, events);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().code == Errc::storage_corrupt);
    CHECK_THAT(opened.error().detail, Catch::Contains(file.string()) &&
                                          Catch::Contains("not an Adashta store") &&
                                          Catch::Contains("customers"));
    CHECK(table_names(file) == std::vector<std::string>{"customers"});
}

TEST_CASE("a store opens again, and one written before the header mark is still ours",
          "[store]") {
    TempDir dir;
    const fs::path file = dir.path / "store.db";
    {
        Events events;
        auto opened = Store::open({.path = file.string()}, events);
        REQUIRE(opened);
        (*opened)->start();
        append_orders(**opened, events, 3);
    }
    {
        auto db = Db::open(file.string());
        REQUIRE(db);
        auto id = (*db)->query("PRAGMA application_id");
        REQUIRE(id);
        CHECK(id->front().front() != "0");
        REQUIRE((*db)->exec("PRAGMA application_id = 0"));  // as an older edge left it
    }
    Events events;
    auto again = Store::open({.path = file.string()}, events);
    REQUIRE(again);
    (*again)->start();
    CHECK(pending_orders(**again, events) == 3);
}

TEST_CASE("damaged pages in the middle of the file are refused at open", "[store]") {
    TempDir dir;
    const fs::path file = dir.path / "store.db";
    {
        Events events;
        auto opened = Store::open({.path = file.string()}, events);
        REQUIRE(opened);
        (*opened)->start();
        append_orders(**opened, events, 400, 1000);  // about a hundred pages
    }
    const auto size = fs::file_size(file);
    REQUIRE(size > 64 * 4096);
    {
        // Three pages in the middle, overwritten the way a bad sector or a stray write would.
        std::fstream f{file, std::ios::in | std::ios::out | std::ios::binary};
        f.seekp(static_cast<std::streamoff>(size / 2 / 4096 * 4096));
        const std::string noise(3 * 4096, '\x5a');
        f.write(noise.data(), static_cast<std::streamsize>(noise.size()));
    }
    Events events;
    auto opened = Store::open({.path = file.string()}, events);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().code == Errc::storage_corrupt);
    CHECK_THAT(opened.error().detail,
               Catch::Contains(file.string()) && Catch::Contains(".recover"));
}

TEST_CASE("a store whose file is removed under it acknowledges nothing more", "[store]") {
    TempDir dir;
    const fs::path file = dir.path / "store.db";
    Events events;
    auto opened = Store::open({.path = file.string()}, events);
    REQUIRE(opened);
    Store& store = **opened;
    store.start();
    append_orders(store, events, 1);
    fs::remove(file);
    store.write(
        [](Tx& tx) {
            StoredMessage m = client_message("after");
            return ok_or_error(tx.streams.append(m, tx.now_ms, tx.hand_out));
        },
        events.record(), Atomic::ordered);
    REQUIRE(events.wait_done(2));
    std::lock_guard lock{events.mutex};
    CHECK(events.done[0]);
    REQUIRE_FALSE(events.done[1]);
    CHECK(events.done[1].error().code == Errc::storage_failed);
    CHECK_THAT(events.done[1].error().detail, Catch::Contains("removed or replaced"));
}

TEST_CASE("a store with a size cap refuses new messages with storage_full at the cap", "[store]") {
    TempDir dir;
    const fs::path file = dir.path / "store.db";
    Events events;
    auto opened = Store::open({.path = file.string(), .max_bytes = 256 * 1024}, events);
    REQUIRE(opened);
    Store& store = **opened;
    store.start();
    int accepted = 0;
    Status refused;
    for (int i = 0; i < 1000 && refused; ++i) {
        const std::size_t before = [&] {
            std::lock_guard lock{events.mutex};
            return events.done.size();
        }();
        store.write(
            [i](Tx& tx) {
                StoredMessage m = client_message("big" + std::to_string(i));
                m.data = "\"" + std::string(2000, 'z') + "\"";
                return ok_or_error(tx.streams.append(m, tx.now_ms, tx.hand_out));
            },
            events.record(), Atomic::ordered);
        REQUIRE(events.wait_done(before + 1));
        std::lock_guard lock{events.mutex};
        refused = events.done.back();
        if (refused) ++accepted;
    }
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::storage_full);
    CHECK_THAT(refused.error().detail, Catch::Contains("capped at 262144 bytes"));
    CHECK(accepted > 20);
    CHECK(accepted < 130);  // 2 KB each in 256 KiB, with the tables' own pages
    CHECK(fs::file_size(file) <= 256 * 1024 + 4096);
    // The store keeps working for what needs no new page.
    CHECK(pending_orders(store, events) == accepted);
}

TEST_CASE("under a writer that never pauses the log stays within its bound", "[store][wal]") {
    TempDir dir;
    Events events;
    const fs::path db_path = dir.path / "store.db";
    const fs::path wal_path = dir.path / "store.db-wal";
    // A bound of 2,000 pages (8 MiB) instead of 16,000, so that ten times it is written fast.
    constexpr int kBoundPages = 2000;
    auto opened = Store::open({.path = db_path.string(), .wal_force_frames = kBoundPages}, events);
    REQUIRE(opened);
    Store& store = **opened;
    store.start();
    std::atomic<bool> writing{true};
    std::atomic<std::uintmax_t> largest{0};
    std::thread watcher{[&] {
        while (writing) {
            std::error_code ec;
            const auto size = fs::file_size(wal_path, ec);
            if (!ec && size > largest) largest = size;
            std::this_thread::sleep_for(std::chrono::milliseconds{2});
        }
    }};
    // 80 MB in commits of about 400 KB, each queued as the one before completes: no pause.
    const std::string data = "\"" + std::string(20'000, 'x') + "\"";
    constexpr int kChunks = 200;
    constexpr int kPerChunk = 20;
    for (int c = 0; c < kChunks; ++c) {
        for (int i = 0; i < kPerChunk; ++i)
            store.write(
                [id = "w" + std::to_string(c * kPerChunk + i), &data](Tx& tx) -> Status {
                    StoredMessage m = client_message(id);
                    m.data = data;
                    return ok_or_error(tx.streams.append(m, tx.now_ms));
                },
                events.record(), Atomic::ordered);
        REQUIRE(events.wait_done(static_cast<std::size_t>((c + 1) * kPerChunk)));
    }
    writing = false;
    watcher.join();
    const std::uintmax_t bound = kBoundPages * 4096ULL;
    INFO("largest log " << largest << " bytes, bound " << bound);
    // The bound, plus one commit's pages (a commit is not split), plus a little slack.
    CHECK(largest <= bound + bound / 4);
}

namespace {
// A feed of n writes that each count how many writes the round they ran in took from it.
struct CountingFeed : WriteFeed {
    std::mutex mutex;
    std::size_t left = 0;
    std::vector<std::size_t> rounds;  // writes taken per take() that took any
    Events* events = nullptr;
    bool take(std::size_t most, std::size_t, std::vector<Write>& into) override {
        std::lock_guard lock{mutex};
        const std::size_t n = std::min(most, left);
        for (std::size_t i = 0; i < n; ++i)
            into.push_back({[](Tx&) { return Status{}; }, events->record(), Atomic::ordered});
        left -= n;
        if (n) rounds.push_back(n);
        return left > 0;
    }
};
}  // namespace

TEST_CASE("the store takes a feed's writes a bounded number per round, and all of them",
          "[store]") {
    TempDir dir;
    Events events;
    CountingFeed feed;
    feed.events = &events;
    feed.left = 250;
    auto opened = Store::open({.path = (dir.path / "store.db").string()}, events);
    REQUIRE(opened);
    auto& store = **opened;
    store.feed_from(feed, 100, 1 << 20);
    store.start();
    store.fed();
    REQUIRE(events.wait_done(250));
    std::lock_guard lock{feed.mutex};
    CHECK(feed.rounds == std::vector<std::size_t>{100, 100, 50});
}

TEST_CASE("a stopping store drains its feed first", "[store]") {
    TempDir dir;
    Events events;
    CountingFeed feed;
    feed.events = &events;
    feed.left = 30;
    {
        auto opened = Store::open({.path = (dir.path / "store.db").string()}, events);
        REQUIRE(opened);
        (*opened)->feed_from(feed, 7, 1 << 20);
        (*opened)->fed();  // before start: the first round takes from the feed
        (*opened)->start();
    }  // the destructor stops the store
    std::lock_guard lock{events.mutex};
    CHECK(events.done.size() == 30);
    CHECK(feed.left == 0);
}
