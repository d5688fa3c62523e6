#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

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
