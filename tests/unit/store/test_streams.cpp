#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "adashta/store/sqlite.hpp"
#include "adashta/store/streams.hpp"

#include "numbered.hpp"
#include "temp_dir.hpp"

using namespace adashta;
using namespace adashta::store;
namespace fs = std::filesystem;

namespace {

using adashta::test::TempDir;

constexpr std::int64_t kT0 = 1'700'000'000'000;  // "now" at the start of every test
const std::string kAlice = "s-alice-0001";
const std::string kBob = "s-bob-00002";

// A store in a temp dir that can be closed and opened again.
struct Store {
    TempDir dir;
    std::unique_ptr<Db> db;
    std::unique_ptr<Streams> streams;
    QueueSettings defaults;

    Store() { open(); }
    explicit Store(QueueSettings d) : defaults(std::move(d)) { open(); }
    void open() {
        auto opened = Db::open((dir.path / "store.db").string());
        REQUIRE(opened);
        db = std::move(*opened);
        auto s = Streams::open(*db, defaults);
        REQUIRE(s);
        streams = std::move(*s);
    }
    void reopen() {
        streams.reset();
        db.reset();
        open();
    }
    Streams* operator->() { return streams.get(); }
};

StoredMessage message(std::string queue, std::string id, Direction direction = Direction::to_all,
                      std::string client = {}, std::string data = R"({"n":1})") {
    StoredMessage m;
    m.id = std::move(id);
    m.queue = std::move(queue);
    m.direction = direction;
    m.client = std::move(client);
    m.data = std::move(data);
    return m;
}

// A message to everyone with the given data.
StoredMessage with_data(std::string queue, std::string id, std::string data) {
    return message(std::move(queue), std::move(id), Direction::to_all, {}, std::move(data));
}

// Appends and requires success; returns the offset.
std::int64_t put(Store& store, StoredMessage m, std::int64_t now = kT0) {
    auto offset = store->append(m, now);
    INFO(m.id);
    REQUIRE(offset);
    return *offset;
}

std::vector<std::int64_t> offsets(const std::vector<StoredMessage>& messages) {
    std::vector<std::int64_t> out;
    for (const auto& m : messages) out.push_back(m.offset);
    return out;
}

std::vector<std::string> ids(const std::vector<Due>& due) {
    std::vector<std::string> out;
    for (const auto& d : due) out.push_back(d.message.id);
    return out;
}

std::vector<StoredMessage> read_all(Store& store, const std::string& queue, std::int64_t now = kT0,
                                    std::int64_t from = 0) {
    ReadFilter filter;
    filter.from_offset = from;
    filter.everything = true;
    filter.limit = kMaxRead;
    auto read = store->read(queue, filter, now);
    REQUIRE(read);
    return *read;
}

std::vector<StoredMessage> read_as(Store& store, const std::string& queue,
                                   const std::string& session, std::int64_t now = kT0,
                                   std::int64_t from = 0) {
    ReadFilter filter;
    filter.from_offset = from;
    filter.session = session;
    filter.limit = kMaxRead;
    auto read = store->read(queue, filter, now);
    REQUIRE(read);
    return *read;
}

QueueSettings with_retention(std::int64_t ms) {
    QueueSettings s;
    s.retention_ms = ms;
    return s;
}

std::int64_t pending(Store& store, const std::string& queue) {
    auto count = store->pending_count(queue);
    REQUIRE(count);
    return *count;
}

using Offsets = std::vector<std::int64_t>;

}  // namespace

// --- offsets and duplicates ---------------------------------------------------------------

TEST_CASE("offsets start at 1 and grow separately in each queue", "[streams]") {
    Store store;
    CHECK(put(store, message("chat", "a")) == 1);
    CHECK(put(store, message("chat", "b")) == 2);
    CHECK(put(store, message("news", "c")) == 1);
    CHECK(put(store, message("chat", "d", Direction::to_server, kAlice)) == 3);
    CHECK(*store->next_offset("chat") == 4);
    CHECK(*store->next_offset("news") == 2);
    CHECK(*store->next_offset("never-used") == 1);
}

TEST_CASE("offsets keep growing after everything expired, across restarts", "[streams]") {
    Store store;
    REQUIRE(store->set_settings("chat", with_retention(1000)));
    for (const char* id : {"a", "b", "c"}) put(store, message("chat", id));
    CHECK(*store->expire(kT0 + 5000, 100) == 3);
    CHECK(read_all(store, "chat", kT0 + 5000).empty());
    CHECK(put(store, message("chat", "d"), kT0 + 5000) == 4);
    CHECK(*store->expire(kT0 + 10'000, 100) == 1);
    store.reopen();
    CHECK(*store->next_offset("chat") == 5);
    CHECK(put(store, message("chat", "e"), kT0 + 10'000) == 5);
}

TEST_CASE("a retried append with the same id stores nothing new", "[streams]") {
    Store store;
    CHECK(put(store, message("orders", "x", Direction::to_server, kAlice)) == 1);
    CHECK(put(store, message("orders", "x", Direction::to_server, kAlice)) == 1);
    CHECK(pending(store, "orders") == 1);
    CHECK(put(store, message("chat", "y")) == 1);
    CHECK(put(store, message("chat", "y")) == 1);
    CHECK(read_all(store, "chat").size() == 1);
    CHECK(*store->next_offset("chat") == 2);

    // A scheduled one is recognised while it waits, and once it has been delivered.
    auto later = message("chat", "z");
    later.deliver_at_ms = kT0 + 100;
    CHECK(put(store, later) == 0);
    CHECK(put(store, later) == 0);
    auto taken = store->take_scheduled(kT0 + 100, 10);
    REQUIRE(taken);
    REQUIRE(taken->size() == 1);
    CHECK(put(store, later, kT0 + 200) == (*taken)[0].offset);
    CHECK(read_all(store, "chat", kT0 + 200).size() == 2);
}

TEST_CASE("the same id in two queues is two messages", "[streams]") {
    Store store;
    CHECK(put(store, message("a", "same")) == 1);
    put(store, message("b", "other"));
    CHECK(put(store, message("b", "same")) == 2);
}

// --- reading ------------------------------------------------------------------------------

TEST_CASE("a client reads messages for everyone and for itself, never others'", "[streams]") {
    Store store;
    put(store, message("chat", "1", Direction::to_server, kAlice));
    put(store, message("chat", "2", Direction::to_all));
    put(store, message("chat", "3", Direction::to_client, kAlice));
    put(store, message("chat", "4", Direction::to_client, kBob));
    put(store, message("chat", "5", Direction::to_all));

    CHECK(offsets(read_as(store, "chat", kAlice)) == Offsets{2, 3, 5});
    CHECK(offsets(read_as(store, "chat", kBob)) == Offsets{2, 4, 5});
    CHECK(offsets(read_as(store, "chat", "")) == Offsets{2, 5});
    CHECK(offsets(read_all(store, "chat")) == Offsets{1, 2, 3, 4, 5});

    const auto alice = read_as(store, "chat", kAlice, kT0, 3);
    REQUIRE(alice.size() == 2);
    CHECK(alice[0].id == "3");
    CHECK(alice[0].queue == "chat");
    CHECK(alice[0].direction == Direction::to_client);
    CHECK(alice[0].client == kAlice);
    CHECK(alice[0].data == R"({"n":1})");
    CHECK(alice[0].created_ms == kT0);
    CHECK(alice[1].client.empty());
}

// Found while writing fuzz_router's check of users: a user named "u:bob" (a token's sub may
// be anything) had its messages stored under the key of user "bob", who then read them.
TEST_CASE("a user whose name starts with u: reads its messages, and no other user does",
          "[streams]") {
    Store store;
    StoredMessage for_prefixed = message("chat", "1", Direction::to_user, "u:bob");
    REQUIRE(store->append(for_prefixed, kT0));
    put(store, message("chat", "2", Direction::to_user, "bob"));
    // What append leaves in the message: the key the Router takes the user back from.
    CHECK(for_prefixed.client == user_key("u:bob"));

    auto read_user = [&](const std::string& user) {
        ReadFilter filter;
        filter.session = kAlice;
        filter.user = user;
        filter.limit = kMaxRead;
        auto read = store->read("chat", filter, kT0);
        REQUIRE(read);
        return offsets(*read);
    };
    CHECK(read_user("u:bob") == Offsets{1});
    CHECK(read_user("bob") == Offsets{2});
    CHECK(read_user("u:u:bob").empty());
}

TEST_CASE("reads go in offset order from an offset, up to a limit capped at 1000", "[streams]") {
    Store store;
    {
        Transaction tx{*store.db};
        for (int i = 1; i <= 1500; ++i) put(store, message("feed", std::to_string(i)));
        REQUIRE(tx.commit());
    }
    ReadFilter filter;
    filter.limit = 5000;
    auto all = store->read("feed", filter, kT0);
    REQUIRE(all);
    REQUIRE(all->size() == kMaxRead);
    CHECK(all->front().offset == 1);
    CHECK(all->back().offset == 1000);
    CHECK(std::is_sorted(all->begin(), all->end(),
                         [](const auto& a, const auto& b) { return a.offset < b.offset; }));
    filter.from_offset = 1001;
    CHECK(store->read("feed", filter, kT0)->size() == 500);
    filter.from_offset = 1499;
    filter.limit = 1;
    CHECK(offsets(*store->read("feed", filter, kT0)) == Offsets{1499});
    filter.limit = 0;
    CHECK(store->read("feed", filter, kT0)->empty());
    filter.limit = 10;
    filter.from_offset = 1501;
    CHECK(store->read("feed", filter, kT0)->empty());
}

TEST_CASE("a read bounded by bytes stops before the page passes them, the first always in",
          "[streams]") {
    Store store;
    const std::string kilobyte = "\"" + std::string(1000, 'k') + "\"";
    for (int i = 1; i <= 20; ++i)
        put(store, message("big", "m" + std::to_string(i), Direction::to_all, {}, kilobyte));
    ReadFilter filter;
    filter.everything = true;
    filter.limit = kMaxRead;
    filter.max_bytes = 5 * read_cost(*read_all(store, "big").begin());
    auto page = store->read("big", filter, kT0);
    REQUIRE(page);
    CHECK(offsets(*page) == Offsets{1, 2, 3, 4, 5});
    filter.from_offset = 6;
    filter.max_bytes = 10;  // less than one message: that one comes alone
    CHECK(offsets(*store->read("big", filter, kT0)) == Offsets{6});
}

TEST_CASE("a read by time starts at the first message stored at or after it", "[streams]") {
    Store store;
    for (int i = 0; i < 10; ++i) {
        put(store, message("feed", numbered("a", i)), kT0 + i * 10);
        put(store, message("feed", numbered("s", i), Direction::to_server, kAlice),
            kT0 + i * 10);
    }
    ReadFilter filter;
    filter.session = kAlice;
    filter.since_ms = kT0 + 45;  // the messages of kT0 + 50 on: offsets 11, 13, ...
    CHECK(offsets(*store->read("feed", filter, kT0 + 100)) == Offsets{11, 13, 15, 17, 19});
    filter.since_ms = kT0 + 50;
    CHECK(offsets(*store->read("feed", filter, kT0 + 100)) == Offsets{11, 13, 15, 17, 19});
    filter.since_ms = kT0;
    CHECK(store->read("feed", filter, kT0 + 100)->size() == 10);
    filter.since_ms = kT0 + 91;
    CHECK(store->read("feed", filter, kT0 + 100)->empty());
    filter.since_ms = kT0 + 45;
    filter.from_offset = 15;  // both: the later of the two
    CHECK(offsets(*store->read("feed", filter, kT0 + 100)) == Offsets{15, 17, 19});
}

TEST_CASE("an unknown queue reads as empty and a bad name is refused", "[streams]") {
    Store store;
    CHECK(read_all(store, "nothing-here").empty());
    CHECK(*store->oldest_offset("nothing-here", kT0) == 1);
    CHECK(*store->pending_count("nothing-here") == 0);
    auto bad = store->read("bad name", ReadFilter{}, kT0);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::bad_queue);
    // Reading does not create queues.
    CHECK(store->queues()->empty());
}

TEST_CASE("client messages not due yet are hidden from server readers unless asked", "[streams]") {
    QueueSettings s;
    s.client_schedule = true;
    Store store;
    REQUIRE(store->set_settings("orders", s));
    auto later = message("orders", "later", Direction::to_server, kAlice);
    later.deliver_at_ms = kT0 + 1000;
    put(store, message("orders", "now", Direction::to_server, kAlice));
    put(store, later);
    CHECK(offsets(read_all(store, "orders")) == Offsets{1});
    ReadFilter filter;
    filter.everything = true;
    filter.include_scheduled = true;
    CHECK(offsets(*store->read("orders", filter, kT0)) == Offsets{1, 2});
    CHECK(offsets(read_all(store, "orders", kT0 + 1000)) == Offsets{1, 2});
}

// --- retention ----------------------------------------------------------------------------

TEST_CASE("messages expire on time, never before, and reads hide them at once", "[streams]") {
    Store store;
    REQUIRE(store->set_settings("chat", with_retention(1000)));
    put(store, message("chat", "a"), kT0);
    put(store, message("chat", "b"), kT0 + 100);
    put(store, message("chat", "c"), kT0 + 200);
    CHECK(offsets(read_all(store, "chat", kT0 + 999)) == Offsets{1, 2, 3});
    CHECK(*store->expire(kT0 + 999, 100) == 0);
    // Expired but not deleted yet: already invisible.
    CHECK(offsets(read_all(store, "chat", kT0 + 1000)) == Offsets{2, 3});
    CHECK(offsets(read_as(store, "chat", kAlice, kT0 + 1100)) == Offsets{3});
    CHECK(*store->expire(kT0 + 1100, 100) == 2);
    CHECK(offsets(read_all(store, "chat", kT0 + 1100)) == Offsets{3});
    CHECK(*store->expire(kT0 + 1200, 100) == 1);
    CHECK(read_all(store, "chat", kT0 + 1200).empty());
}

TEST_CASE("a reader behind the oldest retained offset can be told about the gap", "[streams]") {
    Store store;
    REQUIRE(store->set_settings("chat", with_retention(1000)));
    for (int i = 1; i <= 5; ++i) put(store, message("chat", std::to_string(i)), kT0 + i * 100);
    CHECK(*store->oldest_offset("chat", kT0 + 500) == 1);
    // Offsets 1 and 2 (stored at +100 and +200) are past their time at +1200.
    CHECK(*store->oldest_offset("chat", kT0 + 1200) == 3);  // before expire() ...
    CHECK(*store->expire(kT0 + 1200, 100) == 2);
    CHECK(*store->oldest_offset("chat", kT0 + 1200) == 3);  // ... and after
    // A client that last saw offset 1 asks from 2: gap [2, 2], then 3, 4, 5.
    const std::int64_t from = 2;
    const std::int64_t oldest = *store->oldest_offset("chat", kT0 + 1200);
    CHECK(from < oldest);
    CHECK(offsets(read_as(store, "chat", kAlice, kT0 + 1200, from)) == Offsets{3, 4, 5});
    // Everything gone: the oldest is where the next message will be.
    CHECK(*store->expire(kT0 + 10'000, 100) == 3);
    CHECK(*store->oldest_offset("chat", kT0 + 10'000) == 6);
}

TEST_CASE("max_messages keeps the newest messages of a queue", "[streams]") {
    QueueSettings s;
    s.max_messages = 3;
    Store store;
    REQUIRE(store->set_settings("feed", s));
    for (int i = 1; i <= 5; ++i) put(store, message("feed", std::to_string(i)));
    put(store, message("other", "x"));
    // Hidden before expire() deletes them.
    CHECK(offsets(read_all(store, "feed")) == Offsets{3, 4, 5});
    CHECK(*store->oldest_offset("feed", kT0) == 3);
    CHECK(*store->expire(kT0, 100) == 2);
    CHECK(offsets(read_all(store, "feed")) == Offsets{3, 4, 5});
    CHECK(*store->expire(kT0, 100) == 0);
    CHECK(offsets(read_all(store, "other")) == Offsets{1});

    // Lowering the limit applies at once, and at the next expire().
    s.max_messages = 1;
    REQUIRE(store->set_settings("feed", s));
    CHECK(offsets(read_all(store, "feed")) == Offsets{5});
    CHECK(*store->expire(kT0, 100) == 2);
    // After a restart too.
    for (int i = 6; i <= 8; ++i) put(store, message("feed", std::to_string(i)));
    store.reopen();
    CHECK(*store->expire(kT0, 100) == 3);
    CHECK(offsets(read_all(store, "feed")) == Offsets{8});
}

TEST_CASE("max_bytes keeps the newest data of a queue, oldest first", "[streams]") {
    QueueSettings s;
    s.max_message_bytes = 10;
    s.max_bytes = 10;
    Store store;
    REQUIRE(store->set_settings("feed", s));
    for (int i = 1; i <= 5; ++i) put(store, with_data("feed", "m" + std::to_string(i), "abcd"));
    put(store, with_data("other", "o", "0123456789"));
    // 5 × 4 bytes; the newest 10 bytes hold two whole messages. Hidden before expire().
    CHECK(offsets(read_all(store, "feed")) == Offsets{4, 5});
    CHECK(*store->oldest_offset("feed", kT0) == 4);
    CHECK(*store->expire(kT0, 100) == 3);
    CHECK(*store->expire(kT0, 100) == 0);
    CHECK(offsets(read_all(store, "feed")) == Offsets{4, 5});
    CHECK(offsets(read_all(store, "other")) == Offsets{1});  // no limit of its own

    // One message of exactly max_bytes leaves room for nothing else.
    put(store, with_data("feed", "m6", "0123456789"));
    CHECK(offsets(read_all(store, "feed")) == Offsets{6});
    store.reopen();  // after a restart, expire() finds the queue again from its settings
    CHECK(*store->expire(kT0, 100) == 2);
    Statement rows{*store.db, "SELECT count(*) FROM messages m JOIN queues q USING (queue_id) "
                              "WHERE q.name = 'feed'"};
    REQUIRE(*rows.step());
    CHECK(rows.int64(0) == 1);

    // Raising the limit keeps what is left and lets more in.
    s.max_bytes = 0;
    REQUIRE(store->set_settings("feed", s));
    for (int i = 7; i <= 9; ++i) put(store, with_data("feed", "m" + std::to_string(i), "abcd"));
    CHECK(offsets(read_all(store, "feed")) == Offsets{6, 7, 8, 9});
    CHECK(*store->expire(kT0, 100) == 0);
}

TEST_CASE("max_bytes trims in bounded steps that add up to the cut", "[streams]") {
    QueueSettings s;
    s.max_message_bytes = 100;
    s.max_bytes = 1000;
    Store store;
    REQUIRE(store->set_settings("big", s));
    const std::string hundred(100, 'x');
    for (int i = 1; i <= 50; ++i) put(store, with_data("big", "m" + std::to_string(i), hundred));
    // 5,000 bytes; the newest 1,000 are offsets 41..50. Budget 15 per call.
    std::size_t total = 0;
    for (int step = 0; step < 10; ++step) total += *store->expire(kT0, 15);
    CHECK(total == 40);
    CHECK(offsets(read_all(store, "big")).front() == 41);
    CHECK(offsets(read_all(store, "big")).size() == 10);
}

TEST_CASE("a version 1 database gains maxBytes; its older messages count 0 bytes", "[streams]") {
    Store store;
    for (int i = 1; i <= 3; ++i) put(store, with_data("q", "old" + std::to_string(i), "abcd"));
    // Back to version 1's shape, as the previous Adashta left it.
    store.streams.reset();
    REQUIRE(store.db->exec("ALTER TABLE messages DROP COLUMN start_bytes; "
                           "ALTER TABLE queues DROP COLUMN max_bytes; "
                           "ALTER TABLE queues DROP COLUMN appended_bytes; "
                           "UPDATE meta SET value = 1 WHERE key = 'streams.schema_version'"));
    store.reopen();
    CHECK(offsets(read_all(store, "q")) == Offsets{1, 2, 3});
    QueueSettings s;
    s.max_message_bytes = 8;
    s.max_bytes = 8;
    REQUIRE(store->set_settings("q", s));
    CHECK(offsets(read_all(store, "q")) == Offsets{1, 2, 3});  // 0 bytes counted so far
    put(store, with_data("q", "new4", "abcd"));
    CHECK(offsets(read_all(store, "q")) == Offsets{1, 2, 3, 4});
    put(store, with_data("q", "new5", "abcd"));
    put(store, with_data("q", "new6", "abcd"));  // 12 bytes since the upgrade: the old ones go, then 4
    CHECK(offsets(read_all(store, "q")) == Offsets{5, 6});
    CHECK(*store->expire(kT0, 100) == 4);
    Statement version{*store.db, "SELECT value FROM meta WHERE key = 'streams.schema_version'"};
    REQUIRE(*version.step());
    CHECK(version.int64(0) == 2);
}

TEST_CASE("a shorter retention never expires newer messages before older ones", "[streams]") {
    Store store;
    REQUIRE(store->set_settings("chat", with_retention(kHourMs)));
    put(store, message("chat", "old"), kT0);
    REQUIRE(store->set_settings("chat", with_retention(1000)));
    put(store, message("chat", "new"), kT0 + 10);
    // "new" would be gone at +1010 on its own retention, leaving a hole under "old".
    CHECK(offsets(read_all(store, "chat", kT0 + 5000)) == Offsets{1, 2});
    CHECK(*store->expire(kT0 + 5000, 100) == 0);
    CHECK(*store->expire(kT0 + kHourMs, 100) == 2);
}

TEST_CASE("expiry drops client messages from pending too", "[streams]") {
    Store store;
    REQUIRE(store->set_settings("orders", with_retention(1000)));
    put(store, message("orders", "a", Direction::to_server, kAlice));
    CHECK(pending(store, "orders") == 1);
    CHECK(*store->expire(kT0 + 1000, 100) == 1);
    CHECK(pending(store, "orders") == 0);
    CHECK(store->take_due(kT0 + 1000, 10)->due.empty());
    CHECK_FALSE(store->next_due_ms()->has_value());
}

TEST_CASE("a large backlog expires in bounded steps while appends go on", "[streams]") {
    constexpr int kBacklog = 100'000;
    constexpr std::size_t kBudget = 1000;
    Store store;
    REQUIRE(store->set_settings("firehose", with_retention(kMinuteMs)));
    {
        Transaction tx{*store.db};
        for (int i = 0; i < kBacklog; ++i) {
            auto m = message("firehose", numbered("b", i), Direction::to_all, {},
                             R"({"reading":12345,"sensor":"north-gate"})");
            auto offset = store->append(m, kT0);
            if (!offset) FAIL(offset.error().to_string());
        }
        REQUIRE(tx.commit());
    }
    const std::int64_t later = kT0 + 2 * kMinuteMs;
    using Clock = std::chrono::steady_clock;
    Clock::duration slowest{};
    Clock::duration total{};
    std::size_t expired = 0;
    int steps = 0;
    for (;;) {
        Transaction tx{*store.db};
        const auto start = Clock::now();
        auto step = store->expire(later, kBudget);
        const auto took = Clock::now() - start;
        REQUIRE(step);
        REQUIRE(*step <= kBudget);
        // Writers get the database between steps.
        CHECK(put(store, message("firehose", "n" + std::to_string(steps)), later) ==
              kBacklog + steps + 1);
        REQUIRE(tx.commit());
        slowest = std::max(slowest, took);
        total += took;
        expired += *step;
        ++steps;
        if (*step < kBudget) break;
    }
    CHECK(expired == kBacklog);
    CHECK(steps == kBacklog / static_cast<int>(kBudget) + 1);
    CHECK(read_all(store, "firehose", later).size() == static_cast<std::size_t>(steps));
    CHECK(*store->oldest_offset("firehose", later) == kBacklog + 1);
    const auto ms = [](Clock::duration d) {
        return std::chrono::duration<double, std::milli>(d).count();
    };
    std::printf(
        "expire of %d messages, budget %zu: %d steps, %.3f ms per step on average, "
        "%.3f ms the slowest\n",
        kBacklog, kBudget, steps, ms(total) / steps, ms(slowest));
}

// --- client -> server work ----------------------------------------------------------------

TEST_CASE("a due message is handed out once per visibility timeout with its count", "[streams]") {
    QueueSettings s;
    s.visibility_ms = 10'000;
    Store store;
    REQUIRE(store->set_settings("orders", s));
    put(store, message("orders", "m1", Direction::to_server, kAlice, R"({"sku":7})"));
    CHECK(**store->next_due_ms() == kT0);

    auto first = store->take_due(kT0, 10);
    REQUIRE(first);
    REQUIRE(first->due.size() == 1);
    const Due& due = first->due[0];
    CHECK(due.receive_count == 1);
    CHECK(due.message.id == "m1");
    CHECK(due.message.queue == "orders");
    CHECK(due.message.offset == 1);
    CHECK(due.message.client == kAlice);
    CHECK(due.message.data == R"({"sku":7})");
    CHECK(due.message.direction == Direction::to_server);

    CHECK(store->take_due(kT0 + 9'999, 10)->due.empty());
    CHECK(**store->next_due_ms() == kT0 + 10'000);
    auto again = store->take_due(kT0 + 10'000, 10);
    REQUIRE(again->due.size() == 1);
    CHECK(again->due[0].receive_count == 2);
    CHECK(pending(store, "orders") == 1);
}

TEST_CASE("a message handed out by append is taken as take_due would take it", "[streams]") {
    QueueSettings s;
    s.visibility_ms = 10'000;
    s.max_receive = 2;
    Store store;
    REQUIRE(store->set_settings("orders", s));
    std::vector<Due> handed;
    StoredMessage m = message("orders", "m1", Direction::to_server, kAlice, R"({"sku":7})");
    REQUIRE(store->append(m, kT0, &handed));
    REQUIRE(handed.size() == 1);
    CHECK(handed[0].receive_count == 1);
    CHECK(handed[0].message.id == "m1");
    CHECK(handed[0].message.offset == 1);
    CHECK(handed[0].message.created_ms == kT0);
    CHECK(handed[0].message.data == R"({"sku":7})");

    // Received once: hidden for the visibility timeout, then out again with its count.
    CHECK(store->take_due(kT0, 10)->due.empty());
    CHECK(**store->next_due_ms() == kT0 + 10'000);
    auto again = store->take_due(kT0 + 10'000, 10);
    REQUIRE(again->due.size() == 1);
    CHECK(again->due[0].receive_count == 2);
    // The count handed out by append counts towards max_receive.
    auto used_up = store->take_due(kT0 + 20'000, 10);
    CHECK(used_up->due.empty());
    CHECK(ids(used_up->dead_lettered) == std::vector<std::string>{"m1"});

    // Not handed out: a retry of a stored id, a message not due yet, one for clients.
    StoredMessage retry = message("orders", "m1", Direction::to_server, kAlice);
    REQUIRE(store->append(retry, kT0 + 30'000, &handed));
    StoredMessage later = message("orders", "m2", Direction::to_server, kAlice);
    later.deliver_at_ms = kT0 + 40'000;
    REQUIRE(store->append(later, kT0 + 30'000, &handed));
    StoredMessage out = message("news", "n1");
    REQUIRE(store->append(out, kT0 + 30'000, &handed));
    CHECK(handed.size() == 1);
    CHECK(ids(store->take_due(kT0 + 40'000, 10)->due) == std::vector<std::string>{"m2"});
}

TEST_CASE("an acknowledged message is not delivered again", "[streams]") {
    Store store;
    put(store, message("orders", "m1", Direction::to_server, kAlice));
    REQUIRE(store->take_due(kT0, 10)->due.size() == 1);
    CHECK(store->ack("m1"));
    CHECK(pending(store, "orders") == 0);
    CHECK(store->take_due(kT0 + kHourMs, 10)->due.empty());
    auto twice = store->ack("m1");
    REQUIRE_FALSE(twice);
    CHECK(twice.error().code == Errc::unknown_message);
    CHECK(store->ack("never").error().code == Errc::unknown_message);
    // It stays in the stream.
    CHECK(read_all(store, "orders").size() == 1);
}

TEST_CASE("due messages come earliest first, then by queue and offset, up to the limit",
          "[streams]") {
    Store store;
    auto late = message("a", "late", Direction::to_server, kAlice);
    late.deliver_at_ms = kT0 + 50;
    QueueSettings s;
    s.client_schedule = true;
    REQUIRE(store->set_settings("a", s));
    put(store, late);
    put(store, message("b", "b1", Direction::to_server, kAlice));
    put(store, message("a", "a1", Direction::to_server, kAlice));
    put(store, message("b", "b2", Direction::to_server, kAlice));
    auto batch = store->take_due(kT0 + 100, 3);
    REQUIRE(batch);
    // a is queue 1 (configured first), b queue 2; "late" is visible at +50.
    CHECK(ids(batch->due) == std::vector<std::string>{"a1", "b1", "b2"});
    CHECK(ids(store->take_due(kT0 + 100, 3)->due) == std::vector<std::string>{"late"});
}

TEST_CASE("extend moves a message's next delivery; release undoes a receive", "[streams]") {
    Store store;
    put(store, message("orders", "m1", Direction::to_server, kAlice));
    REQUIRE(store->take_due(kT0, 10)->due.size() == 1);
    // The node needs longer: due again at +60 s instead of +30 s, count kept.
    REQUIRE(store->extend("m1", kT0 + 60'000));
    CHECK(store->take_due(kT0 + 30'000, 10)->due.empty());
    auto extended = store->take_due(kT0 + 60'000, 10);
    REQUIRE(extended->due.size() == 1);
    CHECK(extended->due[0].receive_count == 2);
    // No node could take it: back at +60.5 s, as if this receive never happened.
    REQUIRE(store->release("m1", kT0 + 60'500));
    auto released = store->take_due(kT0 + 60'500, 10);
    REQUIRE(released->due.size() == 1);
    CHECK(released->due[0].receive_count == 2);
    CHECK(store->extend("nope", kT0).error().code == Errc::unknown_message);
    CHECK(store->release("nope", kT0).error().code == Errc::unknown_message);
    CHECK(store->extend("m1", -1).error().code == Errc::bad_timeout);
}

TEST_CASE("a message received max_receive times moves to the dead-letter queue", "[streams]") {
    QueueSettings s;
    s.visibility_ms = 1000;
    s.max_receive = 2;
    s.dead_letter = "orders.dead";
    Store store;
    REQUIRE(store->set_settings("orders", s));
    put(store, message("orders", "m1", Direction::to_server, kAlice, R"({"sku":7})"));
    put(store, message("orders", "dead.first", Direction::to_server, kBob), kT0 + 1);
    REQUIRE(store->ack("dead.first"));

    CHECK(store->take_due(kT0, 10)->due[0].receive_count == 1);
    CHECK(store->take_due(kT0 + 1000, 10)->due[0].receive_count == 2);
    auto third = store->take_due(kT0 + 2000, 10);
    REQUIRE(third);
    CHECK(third->due.empty());
    REQUIRE(third->dead_lettered.size() == 1);
    CHECK(third->dead_lettered[0].message.id == "m1");
    CHECK(third->dead_lettered[0].message.queue == "orders");
    CHECK(third->dead_lettered[0].receive_count == 2);
    CHECK(third->dead_lettered[0].moved_to == "orders.dead");
    CHECK(pending(store, "orders") == 0);
    CHECK(pending(store, "orders.dead") == 1);

    const auto dead = read_all(store, "orders.dead", kT0 + 2000);
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].id == "m1");
    CHECK(dead[0].offset == 1);
    CHECK(dead[0].client == kAlice);
    CHECK(dead[0].data == R"({"sku":7})");
    CHECK(dead[0].direction == Direction::to_server);
    // The original stays in its stream for retention.
    CHECK(read_all(store, "orders", kT0 + 2000).size() == 2);

    // A consumer of the dead-letter queue gets it like any client message.
    auto from_dead = store->take_due(kT0 + 2000, 10);
    REQUIRE(from_dead->due.size() == 1);
    CHECK(from_dead->due[0].message.queue == "orders.dead");
    CHECK(from_dead->due[0].receive_count == 1);
    CHECK(store->ack("m1"));
}

TEST_CASE("without a dead-letter queue a used-up message leaves pending but stays readable",
          "[streams]") {
    QueueSettings s;
    s.max_receive = 1;
    Store store;
    REQUIRE(store->set_settings("orders", s));
    put(store, message("orders", "m1", Direction::to_server, kAlice));
    REQUIRE(store->take_due(kT0, 10)->due.size() == 1);
    auto second = store->take_due(kT0 + s.visibility_ms, 10);
    REQUIRE(second->dead_lettered.size() == 1);
    CHECK(second->dead_lettered[0].moved_to.empty());
    CHECK(pending(store, "orders") == 0);
    CHECK(read_all(store, "orders", kT0 + s.visibility_ms).size() == 1);
}

TEST_CASE("a queue's delay holds new messages back", "[streams]") {
    QueueSettings s;
    s.delay_ms = 5000;
    Store store;
    REQUIRE(store->set_settings("slow", s));
    auto m = message("slow", "m1", Direction::to_server, kAlice);
    REQUIRE(store->append(m, kT0));
    CHECK(m.deliver_at_ms == kT0 + 5000);
    CHECK(store->take_due(kT0 + 4999, 10)->due.empty());
    CHECK(store->take_due(kT0 + 5000, 10)->due.size() == 1);

    auto fanout = message("slow", "f1");
    CHECK(*store->append(fanout, kT0) == 0);  // scheduled: an offset once delivered
    CHECK(store->take_scheduled(kT0 + 4999, 10)->empty());
    CHECK(store->take_scheduled(kT0 + 5000, 10)->size() == 1);
}

// --- scheduled ----------------------------------------------------------------------------

TEST_CASE("scheduled messages are never early and come in deliver_at order", "[streams]") {
    Store store;
    const auto at = [](std::string id, std::int64_t when, Direction d = Direction::to_all,
                       std::string client = {}) {
        auto m = message("news", std::move(id), d, std::move(client));
        m.deliver_at_ms = when;
        return m;
    };
    CHECK(put(store, at("third", kT0 + 1000)) == 0);
    CHECK(put(store, at("first", kT0 + 500, Direction::to_client, kAlice)) == 0);
    CHECK(put(store, at("second", kT0 + 500)) == 0);
    CHECK(put(store, at("past", kT0 - 5)) == 1);  // due already: stored at once
    CHECK(**store->next_scheduled_ms() == kT0 + 500);
    CHECK(store->take_scheduled(kT0 + 499, 10)->empty());

    auto due = store->take_scheduled(kT0 + 500, 10);
    REQUIRE(due);
    REQUIRE(due->size() == 2);
    CHECK((*due)[0].id == "first");
    CHECK((*due)[0].client == kAlice);
    CHECK((*due)[0].direction == Direction::to_client);
    CHECK((*due)[0].deliver_at_ms == kT0 + 500);
    CHECK((*due)[1].id == "second");
    CHECK(store->take_scheduled(kT0 + 500, 10)->empty());
    CHECK(**store->next_scheduled_ms() == kT0 + 1000);
    CHECK(store->take_scheduled(kT0 + 999, 10)->empty());
    REQUIRE(store->take_scheduled(kT0 + 5000, 10)->size() == 1);
    CHECK_FALSE(store->next_scheduled_ms()->has_value());
}

TEST_CASE("a scheduled message gets its offset when it is delivered", "[streams]") {
    Store store;
    auto later = message("news", "later");
    later.deliver_at_ms = kT0 + 100;
    put(store, message("news", "a"));
    CHECK(put(store, later) == 0);
    put(store, message("news", "b"));
    // A client that read up to "b" resumes from 3 and still gets "later".
    CHECK(offsets(read_as(store, "news", kAlice, kT0 + 200)) == Offsets{1, 2});
    auto due = store->take_scheduled(kT0 + 200, 10);
    REQUIRE(due->size() == 1);
    CHECK((*due)[0].offset == 3);
    CHECK(offsets(read_as(store, "news", kAlice, kT0 + 200, 3)) == Offsets{3});
}

TEST_CASE("cancel removes a message no one has received yet, of any direction", "[streams]") {
    QueueSettings s;
    s.client_schedule = true;
    Store store;
    REQUIRE(store->set_settings("orders", s));

    auto fanout = message("news", "f");
    fanout.deliver_at_ms = kT0 + 1000;
    put(store, fanout);
    REQUIRE(store->cancel("f"));
    CHECK(store->take_scheduled(kT0 + 1000, 10)->empty());
    auto again = store->cancel("f");
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::unknown_message);
    CHECK(again.error().detail.find("waiting") != std::string::npos);

    auto work = message("orders", "w", Direction::to_server, kAlice);
    work.deliver_at_ms = kT0 + 1000;
    put(store, work);
    REQUIRE(store->cancel("w"));
    CHECK(pending(store, "orders") == 0);
    CHECK(store->take_due(kT0 + 1000, 10)->due.empty());
    ReadFilter filter;
    filter.everything = true;
    filter.include_scheduled = true;
    CHECK(store->read("orders", filter, kT0)->empty());

    put(store, message("orders", "taken", Direction::to_server, kAlice));
    REQUIRE(store->take_due(kT0, 10)->due.size() == 1);
    auto late = store->cancel("taken");
    REQUIRE_FALSE(late);
    CHECK(late.error().code == Errc::unknown_message);
    CHECK(late.error().detail.find("delivered already") != std::string::npos);

    put(store, message("news", "now"));
    CHECK(store->cancel("now").error().code == Errc::unknown_message);
    CHECK(store->cancel("unknown").error().code == Errc::unknown_message);
}

TEST_CASE("scheduled and pending messages survive reopening the database", "[streams]") {
    Store store;
    auto later = message("news", "later", Direction::to_client, kAlice);
    later.deliver_at_ms = kT0 + 1000;
    {
        Transaction tx{*store.db};
        put(store, later);
        put(store, message("orders", "work", Direction::to_server, kBob));
        REQUIRE(tx.commit());
    }
    REQUIRE(store->take_due(kT0, 10)->due.size() == 1);  // in flight when the edge stops
    store.reopen();
    CHECK(**store->next_scheduled_ms() == kT0 + 1000);
    CHECK(store->take_scheduled(kT0 + 999, 10)->empty());
    auto scheduled = store->take_scheduled(kT0 + 1000, 10);
    REQUIRE(scheduled->size() == 1);
    CHECK((*scheduled)[0].id == "later");
    CHECK((*scheduled)[0].client == kAlice);
    // In flight: due again after its visibility timeout, restart or not.
    CHECK(store->take_due(kT0 + 29'999, 10)->due.empty());
    auto due = store->take_due(kT0 + 30'000, 10);
    REQUIRE(due->due.size() == 1);
    CHECK(due->due[0].message.id == "work");
    CHECK(due->due[0].receive_count == 2);
}

TEST_CASE("a receive in a transaction that rolls back is not counted", "[streams]") {
    Store store;
    put(store, message("orders", "work", Direction::to_server, kBob));
    {
        Transaction tx{*store.db};
        REQUIRE(store->take_due(kT0, 10)->due.size() == 1);
    }  // the edge died before its group commit
    auto due = store->take_due(kT0, 10);
    REQUIRE(due->due.size() == 1);
    CHECK(due->due[0].receive_count == 1);
}

// --- bad input and failures ----------------------------------------------------------------

TEST_CASE("bad messages are refused with catalogue errors and store nothing", "[streams]") {
    QueueSettings small;
    small.max_message_bytes = 10;
    small.retention_ms = kHourMs;
    Store store;
    REQUIRE(store->set_settings("small", small));
    const auto refused = [&](StoredMessage m, Errc code) {
        auto offset = store->append(m, kT0);
        INFO(m.id << " " << m.queue);
        REQUIRE_FALSE(offset);
        CHECK(offset.error().code == code);
        return offset.error().detail;
    };
    CHECK(refused(message("bad queue", "x"), Errc::bad_queue) == "\"bad queue\"");
    refused(message("chat", ""), Errc::bad_frame);
    refused(message("chat", std::string(kMaxIdBytes + 1, 'i')), Errc::bad_frame);
    refused(message("chat", "x", Direction::to_client, ""), Errc::bad_session);
    refused(message("chat", "x", Direction::to_client, "not-a-session"), Errc::bad_session);
    auto far = message("chat", "x");
    far.deliver_at_ms = kT0 + 366 * kDayMs;
    refused(far, Errc::bad_timeout);
    far.deliver_at_ms = -1;
    refused(far, Errc::bad_timeout);
    auto beyond = message("small", "x", Direction::to_server, kAlice, "1");
    beyond.deliver_at_ms = kT0 + 2 * kHourMs;
    CHECK(refused(beyond, Errc::bad_timeout).find("keeps messages for 1h") != std::string::npos);
    const auto large = refused(message("small", "x", Direction::to_all, {}, R"({"n":12345})"),
                               Errc::message_too_large);
    CHECK(large == "11 bytes; queue \"small\" takes up to 10");
    CHECK(*store->next_offset("small") == 1);
    CHECK(*store->next_offset("chat") == 1);
    CHECK(put(store, message("small", "ok", Direction::to_all, {}, "[1,2,3,4]")) == 1);
}

TEST_CASE("a failed append leaves nothing a reader or a node can see", "[streams]") {
    Store store;
    {
        Transaction tx{*store.db};
        CHECK(put(store, message("orders", "a", Direction::to_server, kAlice)) == 1);
        // Fails after taking offset 2: that offset stays unused.
        REQUIRE(
            store.db->exec("CREATE TEMP TRIGGER fail_pending BEFORE INSERT ON pending "
                           "BEGIN SELECT RAISE(ABORT, 'injected'); END"));
        auto b = message("orders", "b", Direction::to_server, kAlice);
        auto failed = store->append(b, kT0);
        REQUIRE_FALSE(failed);
        CHECK(failed.error().code == Errc::storage_failed);
        // The first message of a new queue: the queue is known afterwards, nothing else.
        auto f = message("fresh", "f", Direction::to_server, kAlice);
        CHECK_FALSE(store->append(f, kT0));
        REQUIRE(store.db->exec("DROP TRIGGER fail_pending"));
        // Fails after its pending entry, before its message: the entry is never delivered.
        REQUIRE(
            store.db->exec("CREATE TEMP TRIGGER fail_message BEFORE INSERT ON messages "
                           "BEGIN SELECT RAISE(ABORT, 'injected'); END"));
        auto d = message("orders", "d", Direction::to_server, kAlice);
        CHECK_FALSE(store->append(d, kT0));
        REQUIRE(store.db->exec("DROP TRIGGER fail_message"));
        CHECK(put(store, message("orders", "c", Direction::to_server, kAlice)) == 4);
        CHECK(put(store, message("fresh", "f", Direction::to_server, kAlice)) == 2);
        REQUIRE(tx.commit());
    }
    store.reopen();
    CHECK(offsets(read_all(store, "orders")) == Offsets{1, 4});
    auto due = store->take_due(kT0, 10);
    REQUIRE(due);
    CHECK(ids(due->due) == std::vector<std::string>{"a", "c", "f"});  // by queue, then offset
    CHECK(pending(store, "orders") == 2);
    CHECK_FALSE(store->next_due_ms()->value_or(0) <= kT0);
    // A retry stores them for real.
    CHECK(put(store, message("orders", "b", Direction::to_server, kAlice)) == 5);
    CHECK(put(store, message("orders", "d", Direction::to_server, kAlice)) == 6);
}

TEST_CASE("a caller's savepoint rolled back around an append forgets the queue it made",
          "[streams]") {
    Store store;
    {
        Transaction tx{*store.db};
        // The edge's store runs each piece of work in a savepoint and rolls back the ones
        // that fail; Streams must not remember a queue row that went with it.
        REQUIRE(store.db->exec("SAVEPOINT work"));
        put(store, message("brand-new", "x"));
        QueueSettings s;
        s.visibility_ms = 1234;
        REQUIRE(store->set_settings("configured", s));
        REQUIRE(store.db->exec("ROLLBACK TO work; RELEASE work"));
        CHECK(put(store, message("brand-new", "y")) == 1);
        CHECK(store->settings("configured") == QueueSettings{});
        CHECK(put(store, message("configured", "z")) == 1);
        REQUIRE(tx.commit());
    }
    CHECK(offsets(read_all(store, "brand-new")) == Offsets{1});
    CHECK(read_all(store, "brand-new")[0].id == "y");
}

TEST_CASE("a full disk fails the append with storage_full and keeps what was committed",
          "[streams]") {
    Store store;
    Statement pages{*store.db, "PRAGMA page_count"};
    REQUIRE(*pages.step());
    const std::int64_t used = pages.int64(0);
    pages.reset();
    REQUIRE(store.db->exec("PRAGMA max_page_count = " + std::to_string(used + 40)));
    REQUIRE(store->set_settings("chat", with_retention(1000)));

    const std::string data = "\"" + std::string(2000, 'x') + "\"";
    Status failed;
    int committed = 0;
    for (int i = 0; i < 1000 && failed.ok(); ++i) {
        Transaction tx{*store.db};
        REQUIRE(tx.began());
        auto m = message("chat", numbered("m", i), Direction::to_all, {}, data);
        auto stored = store->append(m, kT0);
        failed = stored ? tx.commit() : Status{stored.error()};
        if (failed) ++committed;
    }
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == Errc::storage_full);
    REQUIRE(committed > 0);
    CHECK(read_all(store, "chat").size() == static_cast<std::size_t>(committed));

    // Expiry frees pages for new messages; offsets go on where they were.
    {
        Transaction tx{*store.db};
        REQUIRE(store->expire(kT0 + 5000, 10'000));
        REQUIRE(tx.commit());
    }
    CHECK(put(store, message("chat", "after"), kT0 + 5000) == committed + 1);
    store.reopen();
    CHECK(offsets(read_all(store, "chat", kT0 + 5000)) == Offsets{committed + 1});
}

TEST_CASE("a database from a newer Adashta is refused, not misread", "[streams]") {
    Store store;
    REQUIRE(store.db->exec("UPDATE meta SET value = 3 WHERE key = 'streams.schema_version'"));
    store.streams.reset();
    auto again = Streams::open(*store.db);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::storage_corrupt);
    CHECK(again.error().detail.find("newer Adashta") != std::string::npos);
}

TEST_CASE("a database from before 2026-11 loses its expiry index and still expires by offset",
          "[streams]") {
    Store store{with_retention(1000)};
    for (int i = 0; i < 10; ++i) put(store, message("q", "m-" + std::to_string(i)), kT0 + i * 100);
    REQUIRE(store.db->exec(
        "CREATE INDEX messages_by_expiry ON messages(queue_id, expires_ms, offset)"));
    store.reopen();
    Statement index{*store.db,
                    "SELECT count(*) FROM sqlite_master WHERE name = 'messages_by_expiry'"};
    REQUIRE(*index.step());
    CHECK(index.int64(0) == 0);
    // Offsets 1..4 are past their time at kT0 + 1350 (each lives 1000 ms from kT0 + 100 i).
    CHECK(*store->oldest_offset("q", kT0 + 1350) == 5);
    CHECK(*store->expire(kT0 + 1350, 100) == 4);
    CHECK(*store->oldest_offset("q", kT0 + 1350) == 5);
    CHECK(offsets(*store->read("q", {}, kT0 + 1350)) ==
          std::vector<std::int64_t>{5, 6, 7, 8, 9, 10});
    CHECK(*store->expire(kT0 + 5000, 100) == 6);
    CHECK(*store->oldest_offset("q", kT0 + 5000) == 11);
}

TEST_CASE("another program's tables of the same name are refused, not crashed on", "[streams]") {
    TempDir dir;
    auto db = Db::open((dir.path / "other.db").string());
    REQUIRE(db);
    REQUIRE((*db)->exec("CREATE TABLE messages(x INTEGER, y TEXT)"));
    auto streams = Streams::open(**db);
    REQUIRE_FALSE(streams);
    CHECK(streams.error().code == Errc::storage_corrupt);
    CHECK(streams.error().detail.find("expected shape") != std::string::npos);
}

// --- settings -----------------------------------------------------------------------------

TEST_CASE("queue settings are stored, listed and kept across restarts", "[streams]") {
    QueueSettings defaults;
    defaults.visibility_ms = 5000;
    Store store{defaults};
    QueueSettings orders;
    orders.retention_ms = 7 * kDayMs;
    orders.max_receive = 5;
    orders.dead_letter = "orders.dead";
    orders.client_schedule = true;
    REQUIRE(store->set_settings("orders", orders));
    put(store, message("chat", "a"));

    CHECK(store->settings("orders") == orders);
    CHECK(store->settings("chat") == defaults);
    CHECK(store->settings("never-seen") == defaults);
    store.reopen();
    CHECK(store->settings("orders") == orders);
    auto list = store->queues();
    REQUIRE(list);
    REQUIRE(list->size() == 2);
    CHECK((*list)[0].name == "chat");
    CHECK_FALSE((*list)[0].configured);
    CHECK((*list)[0].settings == defaults);
    CHECK((*list)[0].next_offset == 2);
    CHECK((*list)[1].name == "orders");
    CHECK((*list)[1].configured);
    CHECK((*list)[1].settings == orders);
}

TEST_CASE("invalid settings are refused and change nothing", "[streams]") {
    Store store;
    QueueSettings bad;
    bad.visibility_ms = 13 * kHourMs;
    CHECK(store->set_settings("orders", bad).error().code == Errc::bad_timeout);
    bad = {};
    bad.max_receive = 2;
    bad.dead_letter = "orders";
    CHECK(store->set_settings("orders", bad).error().code == Errc::bad_option);
    CHECK(store->set_settings("bad name", QueueSettings{}).error().code == Errc::bad_queue);
    CHECK(store->queues()->empty());
}

TEST_CASE("settings changed in a transaction that rolls back are forgotten", "[streams]") {
    Store store;
    QueueSettings first;
    first.visibility_ms = 1000;
    REQUIRE(store->set_settings("orders", first));
    {
        Transaction tx{*store.db};
        QueueSettings second;
        second.visibility_ms = 2000;
        REQUIRE(store->set_settings("orders", second));
        REQUIRE(store->set_settings("jobs", second));
        CHECK(store->settings("orders").visibility_ms == 2000);
        put(store, message("brand-new", "x"));
    }  // rolled back
    CHECK(store->settings("orders").visibility_ms == 1000);
    CHECK(store->settings("jobs") == QueueSettings{});
    // The rolled-back queue row is not remembered either.
    CHECK(put(store, message("brand-new", "y")) == 1);
    CHECK(store->queues()->size() == 2);
}
