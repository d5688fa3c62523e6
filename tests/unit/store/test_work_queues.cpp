#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "adashta/store/sqlite.hpp"
#include "adashta/store/work_queues.hpp"

#include "temp_dir.hpp"

using namespace adashta;
using namespace adashta::store;
namespace fs = std::filesystem;

namespace {

using adashta::test::TempDir;

constexpr std::int64_t t0 = 1'700'000'000'000;  // the tests' clock starts here

// A database in a temp dir with work queues on it; reopen() closes and opens both again.
struct Store {
    TempDir dir;
    std::unique_ptr<Db> db;
    std::unique_ptr<WorkQueues> wq;

    Store() { reopen(); }
    std::string path() const { return (dir.path / "store.db").string(); }
    void close() {
        wq.reset();
        db.reset();
    }
    void reopen() {
        close();
        auto opened = Db::open(path());
        REQUIRE(opened);
        db = std::move(*opened);
        auto queues = WorkQueues::open(*db);
        if (!queues) FAIL(queues.error().to_string());
        wq = std::move(*queues);
    }
};

template <class T>
T must(Result<T> result) {
    if (!result) FAIL(result.error().to_string());
    return std::move(*result);
}
void must(const Status& status) {
    if (!status) FAIL(status.error().to_string());
}
template <class T>
Errc code_of(const Result<T>& result) {
    return result ? Errc::ok : result.error().code;
}

ReceivedMessage must_receive(WorkQueues& wq, std::string_view queue, std::int64_t now,
                             std::optional<std::int64_t> vt = std::nullopt) {
    auto message = must(wq.receive(queue, vt, now));
    if (!message) FAIL("nothing to receive from " << queue << " at t0+" << now - t0);
    return std::move(*message);
}

bool nothing_visible(WorkQueues& wq, std::string_view queue, std::int64_t now) {
    return !must(wq.receive(queue, std::nullopt, now)).has_value();
}

}  // namespace

TEST_CASE("a new queue has RSMQ's defaults, shows them in its attributes and is listed",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {}, t0));
    const auto a = must(s.wq->queue_attributes("jobs", t0 + 5));
    CHECK(a.vt_ms == 30000);
    CHECK(a.delay_ms == 0);
    CHECK(a.maxsize == 65536);
    CHECK(a.totalrecv == 0);
    CHECK(a.totalsent == 0);
    CHECK(a.created_ms == t0);
    CHECK(a.modified_ms == t0);
    CHECK(a.msgs == 0);
    CHECK(a.hiddenmsgs == 0);

    must(s.wq->create_queue("z.last", {}, t0));
    must(s.wq->create_queue("a-first:x/y_z", {.vt_ms = 150, .delay_ms = 10, .maxsize = -1}, t0));
    CHECK(must(s.wq->list_queues()) == std::vector<std::string>{"a-first:x/y_z", "jobs", "z.last"});
    const auto b = must(s.wq->queue_attributes("a-first:x/y_z", t0));
    CHECK(b.vt_ms == 150);
    CHECK(b.delay_ms == 10);
    CHECK(b.maxsize == -1);
    must(tx.commit());
}

TEST_CASE("creating a queue that exists says queue_exists and keeps the first one",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 1000}, t0));
    must(s.wq->send("jobs", "kept", std::nullopt, t0));
    CHECK(code_of(s.wq->create_queue("jobs", {.vt_ms = 2000}, t0 + 1)) == Errc::queue_exists);
    const auto a = must(s.wq->queue_attributes("jobs", t0 + 1));
    CHECK(a.vt_ms == 1000);
    CHECK(a.created_ms == t0);
    CHECK(a.msgs == 1);
}

TEST_CASE("queue names, timeouts and sizes are checked", "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    using O = QueueOptions;

    SECTION("a name outside the rules says bad_queue") {
        for (std::string name : {std::string{}, std::string{"has space"}, std::string{"ü"},
                                 std::string(129, 'q'), std::string{"nul\0", 4}})
            CHECK(code_of(s.wq->create_queue(name, {}, t0)) == Errc::bad_queue);
        CHECK(code_of(s.wq->create_queue(std::string(128, 'q'), {}, t0)) == Errc::ok);
        CHECK(code_of(s.wq->send("bad name", "x", std::nullopt, t0)) == Errc::bad_queue);
        CHECK(code_of(s.wq->receive("", std::nullopt, t0)) == Errc::bad_queue);
    }
    SECTION("a negative or absurd vt or delay says bad_timeout") {
        CHECK(code_of(s.wq->create_queue("q", {.vt_ms = -1}, t0)) == Errc::bad_timeout);
        CHECK(code_of(s.wq->create_queue("q", {.vt_ms = O::kMaxVtMs + 1}, t0)) ==
              Errc::bad_timeout);
        CHECK(code_of(s.wq->create_queue("q", {.delay_ms = -1}, t0)) == Errc::bad_timeout);
        CHECK(code_of(s.wq->create_queue("q", {.delay_ms = O::kMaxDelayMs + 1}, t0)) ==
              Errc::bad_timeout);
        CHECK(O::kMaxVtMs == 12 * 3600 * 1000);
        CHECK(O::kMaxDelayMs == 365LL * 24 * 3600 * 1000);
        CHECK(must(s.wq->list_queues()).empty());  // nothing was created by the failures

        must(s.wq->create_queue("q", {.vt_ms = O::kMaxVtMs, .delay_ms = O::kMaxDelayMs}, t0));
        must(s.wq->create_queue("zero", {.vt_ms = 0, .delay_ms = 0}, t0));
        CHECK(code_of(s.wq->send("q", "x", -5, t0)) == Errc::bad_timeout);
        CHECK(code_of(s.wq->send("q", "x", O::kMaxDelayMs + 1, t0)) == Errc::bad_timeout);
        CHECK(code_of(s.wq->receive("q", -1, t0)) == Errc::bad_timeout);
        CHECK(code_of(s.wq->receive("q", O::kMaxVtMs + 1, t0)) == Errc::bad_timeout);
        const auto error = s.wq->receive("q", -1, t0).error();
        CHECK(error.detail == "vt_ms -1 is outside 0..43200000");
    }
    SECTION("a maxsize other than -1 or 1024 bytes..64 MiB says bad_option") {
        for (std::int64_t bad :
             {std::int64_t{-2}, std::int64_t{0}, std::int64_t{1023}, O::kMaxMaxsize + 1})
            CHECK(code_of(s.wq->create_queue("q", {.maxsize = bad}, t0)) == Errc::bad_option);
        must(s.wq->create_queue("min", {.maxsize = 1024}, t0));
        must(s.wq->create_queue("max", {.maxsize = 64 * 1024 * 1024}, t0));
        must(s.wq->create_queue("unlimited", {.maxsize = -1}, t0));
    }
}

TEST_CASE("every operation on a missing queue says unknown_queue", "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    WorkQueues& wq = *s.wq;
    CHECK(code_of(wq.send("nope", "x", std::nullopt, t0)) == Errc::unknown_queue);
    CHECK(code_of(wq.receive("nope", std::nullopt, t0)) == Errc::unknown_queue);
    CHECK(code_of(wq.pop("nope", t0)) == Errc::unknown_queue);
    CHECK(code_of(wq.delete_message("nope", "id")) == Errc::unknown_queue);
    CHECK(code_of(wq.change_visibility("nope", "id", 0, t0)) == Errc::unknown_queue);
    CHECK(code_of(wq.queue_attributes("nope", t0)) == Errc::unknown_queue);
    CHECK(code_of(wq.set_queue_attributes("nope", {.vt_ms = 1}, t0)) == Errc::unknown_queue);
    CHECK(code_of(wq.next_visible_ms("nope")) == Errc::unknown_queue);
    CHECK(code_of(wq.delete_queue("nope")) == Errc::unknown_queue);
    CHECK(wq.delete_queue("nope").error().detail == "queue \"nope\"");
}

TEST_CASE("delete_queue removes the queue and its messages, and the name can be used again",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {}, t0));
    must(s.wq->create_queue("other", {}, t0));
    for (int i = 0; i < 10; ++i) must(s.wq->send("jobs", "j", std::nullopt, t0));
    must(s.wq->send("other", "stays", std::nullopt, t0));
    must(s.wq->delete_queue("jobs"));
    CHECK(must(s.wq->list_queues()) == std::vector<std::string>{"other"});
    CHECK(code_of(s.wq->receive("jobs", std::nullopt, t0)) == Errc::unknown_queue);

    must(s.wq->create_queue("jobs", {}, t0 + 1));
    const auto a = must(s.wq->queue_attributes("jobs", t0 + 1));
    CHECK(a.msgs == 0);
    CHECK(a.totalsent == 0);
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 1));
    CHECK(must_receive(*s.wq, "other", t0 + 1).body == "stays");
}

TEST_CASE("a received message carries its bytes, id, sent time, first receive and count",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {}, t0));
    const std::string body{"zero\0byte \xff\xfe not utf-8", 23};
    const std::string id = must(s.wq->send("jobs", body, std::nullopt, t0));
    CHECK(id.size() == 26);
    const std::string empty_id = must(s.wq->send("jobs", "", std::nullopt, t0));
    CHECK(empty_id != id);

    const auto m = must_receive(*s.wq, "jobs", t0 + 7);
    CHECK(m.id == id);
    CHECK(m.body == body);
    CHECK(m.sent_ms == t0);
    CHECK(m.fr_ms == t0 + 7);
    CHECK(m.rc == 1);
    const auto e = must_receive(*s.wq, "jobs", t0 + 8);
    CHECK(e.id == empty_id);
    CHECK(e.body.empty());
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 9));
}

TEST_CASE("a received message is hidden from other receivers until its visibility timeout",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 150}, t0));  // milliseconds, not seconds
    const std::string id = must(s.wq->send("jobs", "job", std::nullopt, t0));
    CHECK(must_receive(*s.wq, "jobs", t0 + 10).id == id);
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 10));
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 159));  // hidden until t0 + 10 + 150
    const auto again = must_receive(*s.wq, "jobs", t0 + 160);
    CHECK(again.id == id);
    CHECK(again.rc == 2);
    CHECK(again.fr_ms == t0 + 10);
}

TEST_CASE("a message that is not deleted comes back after each timeout until it is deleted",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 1000}, t0));
    const std::string id = must(s.wq->send("jobs", "job", std::nullopt, t0));
    std::int64_t now = t0;
    for (int round = 1; round <= 3; ++round) {
        const auto m = must_receive(*s.wq, "jobs", now);
        CHECK(m.id == id);
        CHECK(m.rc == round);
        CHECK(m.fr_ms == t0);
        CHECK(m.sent_ms == t0);
        now += 1000;
    }
    CHECK(must(s.wq->delete_message("jobs", id)));
    CHECK(nothing_visible(*s.wq, "jobs", now + 100000));
    CHECK(must(s.wq->queue_attributes("jobs", now)).totalrecv == 3);
}

TEST_CASE("receive takes the message that has been visible longest, then the first sent",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 100}, t0));
    const auto late = must(s.wq->send("jobs", "late", 50, t0));  // visible at t0 + 50
    const auto first = must(s.wq->send("jobs", "first", std::nullopt, t0));
    const auto second = must(s.wq->send("jobs", "second", std::nullopt, t0));
    const auto back = must_receive(*s.wq, "jobs", t0 + 10);  // first, back at t0 + 110
    CHECK(back.id == first);
    const auto after = must(s.wq->send("jobs", "after", std::nullopt, t0 + 20));

    std::vector<std::string> order;
    for (std::int64_t now = t0 + 200; order.size() < 4; ++now)
        order.push_back(must_receive(*s.wq, "jobs", now, 100000).id);
    CHECK(order == std::vector<std::string>{second, after, late, first});
}

TEST_CASE("receive can hide a message for its own visibility timeout", "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 30000}, t0));
    const auto id = must(s.wq->send("jobs", "job", std::nullopt, t0));
    CHECK(must_receive(*s.wq, "jobs", t0, 0).id == id);  // vt 0: visible at once
    const auto m = must_receive(*s.wq, "jobs", t0, 250);
    CHECK(m.rc == 2);
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 249));
    CHECK(must_receive(*s.wq, "jobs", t0 + 250).rc == 3);  // the queue's 30 s from now on
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 250 + 29999));
}

TEST_CASE("a queue's delay or a message's own delay hides a new message until it is due",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("delayed", {.delay_ms = 1000}, t0));
    must(s.wq->create_queue("plain", {}, t0));

    const auto a = must(s.wq->send("delayed", "a", std::nullopt, t0));
    CHECK(nothing_visible(*s.wq, "delayed", t0 + 999));
    CHECK(must_receive(*s.wq, "delayed", t0 + 1000).id == a);

    const auto now = must(s.wq->send("delayed", "now", 0, t0 + 2000));  // overrides the queue
    CHECK(must_receive(*s.wq, "delayed", t0 + 2000).id == now);

    const auto b = must(s.wq->send("plain", "b", 250, t0));
    CHECK(nothing_visible(*s.wq, "plain", t0 + 249));
    const auto m = must_receive(*s.wq, "plain", t0 + 250);
    CHECK(m.id == b);
    CHECK(m.sent_ms == t0);
    CHECK(m.fr_ms == t0 + 250);
}

TEST_CASE("pop takes the next message and deletes it", "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 100}, t0));
    const auto a = must(s.wq->send("jobs", "a", std::nullopt, t0));
    const auto b = must(s.wq->send("jobs", "b", std::nullopt, t0));
    CHECK(must_receive(*s.wq, "jobs", t0 + 1).id == a);  // a is back at t0 + 101

    auto popped = must(s.wq->pop("jobs", t0 + 2));
    REQUIRE(popped);
    CHECK(popped->id == b);
    CHECK(popped->body == "b");
    CHECK(popped->rc == 1);
    CHECK(popped->fr_ms == t0 + 2);
    CHECK_FALSE(must(s.wq->pop("jobs", t0 + 3)));  // a is hidden, b is gone

    popped = must(s.wq->pop("jobs", t0 + 101));
    REQUIRE(popped);
    CHECK(popped->id == a);
    CHECK(popped->rc == 2);
    CHECK(popped->fr_ms == t0 + 1);

    CHECK_FALSE(must(s.wq->delete_message("jobs", a)));
    const auto attrs = must(s.wq->queue_attributes("jobs", t0 + 1000));
    CHECK(attrs.msgs == 0);
    CHECK(attrs.totalrecv == 3);
    CHECK_FALSE(must(s.wq->pop("jobs", t0 + 1000)));
}

TEST_CASE("delete_message says whether it deleted, and an unknown or deleted id is no error",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {}, t0));
    must(s.wq->create_queue("other", {}, t0));
    const auto id = must(s.wq->send("jobs", "a", std::nullopt, t0));
    const auto theirs = must(s.wq->send("other", "b", std::nullopt, t0));

    CHECK(must(s.wq->delete_message("jobs", id)));
    CHECK_FALSE(must(s.wq->delete_message("jobs", id)));            // already deleted
    CHECK_FALSE(must(s.wq->delete_message("jobs", "no-such-id")));  // never sent
    CHECK_FALSE(must(s.wq->delete_message("jobs", theirs)));        // another queue's
    CHECK(must_receive(*s.wq, "other", t0).id == theirs);
    CHECK(must(s.wq->queue_attributes("jobs", t0)).msgs == 0);
}

TEST_CASE("change_visibility hides or releases a message, and an id not in the queue is an error",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 30000}, t0));
    must(s.wq->create_queue("other", {}, t0));
    const auto id = must(s.wq->send("jobs", "a", std::nullopt, t0));

    must_receive(*s.wq, "jobs", t0);
    must(s.wq->change_visibility("jobs", id, 0, t0 + 5));  // released at once
    CHECK(must_receive(*s.wq, "jobs", t0 + 5).rc == 2);

    must(s.wq->change_visibility("jobs", id, 200, t0 + 10));  // hidden for 200 ms only
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 209));
    CHECK(must_receive(*s.wq, "jobs", t0 + 210).rc == 3);

    must(s.wq->change_visibility("jobs", id, 0, t0 + 300));
    must(s.wq->change_visibility("jobs", id, 100, t0 + 300));  // hides a visible one too
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 399));

    CHECK(code_of(s.wq->change_visibility("jobs", id, -1, t0)) == Errc::bad_timeout);
    CHECK(code_of(s.wq->change_visibility("jobs", "no-such-id", 0, t0)) == Errc::unknown_message);
    const auto theirs = must(s.wq->send("other", "b", std::nullopt, t0));
    CHECK(code_of(s.wq->change_visibility("jobs", theirs, 0, t0)) == Errc::unknown_message);
    CHECK(must(s.wq->delete_message("jobs", id)));
    const auto gone = s.wq->change_visibility("jobs", id, 0, t0);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == Errc::unknown_message);
    CHECK(gone.error().detail == "message \"" + id + "\" in queue \"jobs\"");
}

TEST_CASE("a body larger than the queue's maxsize says message_too_large, and -1 takes any size",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("small", {.maxsize = 1024}, t0));
    must(s.wq->create_queue("any", {.maxsize = -1}, t0));
    must(s.wq->send("small", std::string(1024, 'x'), std::nullopt, t0));
    const auto big = s.wq->send("small", std::string(1025, 'x'), std::nullopt, t0);
    REQUIRE_FALSE(big);
    CHECK(big.error().code == Errc::message_too_large);
    CHECK(big.error().detail == "1025 bytes; queue \"small\" takes at most 1024");
    const auto a = must(s.wq->queue_attributes("small", t0));
    CHECK(a.msgs == 1);  // the refused one left no trace
    CHECK(a.totalsent == 1);

    const std::string huge(3 * 1024 * 1024, 'h');
    must(s.wq->send("any", huge, std::nullopt, t0));
    CHECK(must_receive(*s.wq, "any", t0).body == huge);

    // -1 lifts the queue's limit, not SQLite's (1 GB by default; lowered here to show it).
    sqlite3_limit(s.db->handle(), SQLITE_LIMIT_LENGTH, 100000);
    must(s.wq->send("any", std::string(90000, 'x'), std::nullopt, t0));
    const auto too_big = s.wq->send("any", std::string(100000, 'x'), std::nullopt, t0);
    CHECK(code_of(too_big) == Errc::message_too_large);
    CHECK(must(s.wq->queue_attributes("any", t0)).msgs == 2);
}

TEST_CASE("attributes count msgs, hiddenmsgs, totalsent and totalrecv", "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 1000}, t0));
    for (int i = 0; i < 5; ++i) must(s.wq->send("jobs", "now", std::nullopt, t0));
    for (int i = 0; i < 2; ++i) must(s.wq->send("jobs", "later", 500, t0));
    auto a = must(s.wq->queue_attributes("jobs", t0));
    CHECK(a.msgs == 7);
    CHECK(a.hiddenmsgs == 2);  // the delayed ones
    CHECK(a.totalsent == 7);
    CHECK(a.totalrecv == 0);

    const auto r1 = must_receive(*s.wq, "jobs", t0 + 1);
    must_receive(*s.wq, "jobs", t0 + 1);
    REQUIRE(must(s.wq->pop("jobs", t0 + 1)));
    CHECK(must(s.wq->delete_message("jobs", r1.id)));
    a = must(s.wq->queue_attributes("jobs", t0 + 1));
    CHECK(a.msgs == 5);        // 7 - pop - delete
    CHECK(a.hiddenmsgs == 3);  // 2 delayed + 1 in flight
    CHECK(a.totalsent == 7);
    CHECK(a.totalrecv == 3);  // 2 receives + 1 pop

    a = must(s.wq->queue_attributes("jobs", t0 + 500));  // the delayed ones are due
    CHECK(a.hiddenmsgs == 1);
    a = must(s.wq->queue_attributes("jobs", t0 + 1001));  // and the one in flight is back
    CHECK(a.hiddenmsgs == 0);
    CHECK(a.msgs == 5);
}

TEST_CASE("set_queue_attributes changes only what it is given and bumps modified",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 1000, .delay_ms = 0, .maxsize = 2048}, t0));
    const auto before = must(s.wq->send("jobs", "before", std::nullopt, t0));
    must_receive(*s.wq, "jobs", t0);  // hidden until t0 + 1000 under the old vt

    auto a = must(s.wq->set_queue_attributes("jobs", {.vt_ms = 5000}, t0 + 10));
    CHECK(a.vt_ms == 5000);
    CHECK(a.delay_ms == 0);
    CHECK(a.maxsize == 2048);
    CHECK(a.created_ms == t0);
    CHECK(a.modified_ms == t0 + 10);
    CHECK(a.msgs == 1);
    CHECK(a.totalsent == 1);
    CHECK(a.totalrecv == 1);

    // A message already in flight keeps its timer; the next receive uses the new vt.
    CHECK(must_receive(*s.wq, "jobs", t0 + 1000).id == before);
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 5999));
    CHECK(must_receive(*s.wq, "jobs", t0 + 6000).id == before);

    a = must(s.wq->set_queue_attributes("jobs", {.delay_ms = 300, .maxsize = -1}, t0 + 20));
    CHECK(a.vt_ms == 5000);
    CHECK(a.delay_ms == 300);
    CHECK(a.maxsize == -1);
    CHECK(a.modified_ms == t0 + 20);
    const auto delayed = must(s.wq->send("jobs", std::string(4096, 'x'), std::nullopt, t0 + 7000));
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 7299));
    CHECK(must_receive(*s.wq, "jobs", t0 + 7300).id == delayed);

    CHECK(code_of(s.wq->set_queue_attributes("jobs", {}, t0 + 30)) == Errc::bad_option);
    CHECK(code_of(s.wq->set_queue_attributes("jobs", {.vt_ms = -1}, t0 + 30)) == Errc::bad_timeout);
    CHECK(code_of(s.wq->set_queue_attributes("jobs", {.delay_ms = 1, .maxsize = 10}, t0 + 30)) ==
          Errc::bad_option);
    a = must(s.wq->queue_attributes("jobs", t0 + 30));  // the refused changes left no trace
    CHECK(a.vt_ms == 5000);
    CHECK(a.delay_ms == 300);
    CHECK(a.maxsize == -1);
    CHECK(a.modified_ms == t0 + 20);
}

TEST_CASE("next_visible_ms tells a long-poll receive when to try again", "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 1000}, t0));
    CHECK_FALSE(must(s.wq->next_visible_ms("jobs")));  // empty: wait for a send

    must(s.wq->send("jobs", "later", 500, t0));
    CHECK(nothing_visible(*s.wq, "jobs", t0));
    CHECK(must(s.wq->next_visible_ms("jobs")) == t0 + 500);

    must(s.wq->send("jobs", "sooner", 200, t0 + 10));
    CHECK(must(s.wq->next_visible_ms("jobs")) == t0 + 210);

    const auto m = must_receive(*s.wq, "jobs", t0 + 210);  // hidden again until t0 + 1210
    CHECK(m.body == "sooner");
    CHECK(must(s.wq->next_visible_ms("jobs")) == t0 + 500);
    const auto later = must_receive(*s.wq, "jobs", t0 + 600);  // hidden until t0 + 1600
    CHECK(must(s.wq->next_visible_ms("jobs")) == t0 + 1210);

    must(s.wq->change_visibility("jobs", later.id, 0, t0 + 700));
    CHECK(must(s.wq->next_visible_ms("jobs")) == t0 + 700);  // <= now: receive at once
    CHECK(must(s.wq->delete_message("jobs", later.id)));
    CHECK(must(s.wq->delete_message("jobs", m.id)));
    CHECK_FALSE(must(s.wq->next_visible_ms("jobs")));
}

TEST_CASE(
    "1,000 jobs and 4 competing consumers: each job goes to exactly one consumer "
    "within its visibility timeout",
    "[work_queues]") {
    constexpr int kJobs = 1000;
    constexpr int kConsumers = 4;
    constexpr std::int64_t kVt = 200;
    Store s;
    WorkQueues& wq = *s.wq;
    {
        Transaction tx{*s.db};
        must(wq.create_queue("jobs", {.vt_ms = kVt}, t0));
        for (int i = 0; i < kJobs; ++i)
            must(wq.send("jobs", "job-" + std::to_string(i), std::nullopt, t0));
        must(tx.commit());
    }

    struct Lease {
        int consumer = -1;
        std::int64_t until = 0;  // the end of its visibility timeout
    };
    struct Consumer {
        std::optional<ReceivedMessage> job;
        std::int64_t done_at = 0;  // when it finishes (deletes) or gives up (drops) the job
        bool gives_up = false;     // a crash: the job is never deleted
        int received = 0;
    };
    std::map<std::string, Lease> leases;     // id -> the latest receive of the job
    std::map<std::string, int> receipts;     // id -> how many times it was received
    std::map<std::string, std::int64_t> fr;  // id -> its first receive
    std::set<std::string> deleted;
    std::set<std::string> bodies;
    std::vector<Consumer> consumers(kConsumers);
    std::mt19937 random{20240601};
    int abandoned = 0;

    std::int64_t now = t0;
    for (int step = 0; static_cast<int>(deleted.size()) < kJobs; ++step) {
        REQUIRE(step < 100000);
        Transaction tx{*s.db};  // one group commit per step
        for (int k = 0; k < kConsumers; ++k) {
            const int c = (step + k) % kConsumers;  // a different consumer goes first each step
            Consumer& consumer = consumers[static_cast<std::size_t>(c)];
            if (consumer.job && now >= consumer.done_at) {
                if (!consumer.gives_up) {
                    REQUIRE(now < leases[consumer.job->id].until);  // still within its vt
                    CHECK(must(wq.delete_message("jobs", consumer.job->id)));
                    CHECK(deleted.insert(consumer.job->id).second);
                }
                consumer.job.reset();
            }
            if (consumer.job) continue;
            auto job = must(wq.receive("jobs", std::nullopt, now));
            if (!job) continue;
            const std::string& id = job->id;
            // Nobody else holds it: it was never received, or the last lease has run out.
            const auto lease = leases.find(id);
            REQUIRE((lease == leases.end() || lease->second.until <= now));
            REQUIRE(deleted.count(id) == 0);
            CHECK(job->rc == ++receipts[id]);
            if (job->rc == 1) fr[id] = now;
            CHECK(job->fr_ms == fr[id]);
            CHECK(job->sent_ms == t0);
            bodies.insert(job->body);
            leases[id] = Lease{c, now + kVt};
            consumer.received++;
            consumer.gives_up = job->rc == 1 && random() % 10 == 0;  // 1 in 10 first tries
            abandoned += consumer.gives_up ? 1 : 0;
            consumer.done_at = now + 1 + static_cast<std::int64_t>(random() % (kVt - 1));
            consumer.job = std::move(job);
        }
        must(tx.commit());

        // The clock jumps to the next thing that can happen: a consumer finishing, or a
        // message becoming visible while someone is idle (what a long-poll would wait for).
        std::optional<std::int64_t> next;
        auto consider = [&](std::int64_t t) { next = next ? std::min(*next, t) : t; };
        bool idle = false;
        for (const Consumer& consumer : consumers) {
            if (consumer.job)
                consider(consumer.done_at);
            else
                idle = true;
        }
        if (idle) {
            Transaction read{*s.db};
            if (auto visible = must(wq.next_visible_ms("jobs"))) consider(*visible);
        }
        if (!next) break;
        now = std::max(now + 1, *next);
    }

    CHECK(deleted.size() == kJobs);
    CHECK(bodies.size() == kJobs);
    CHECK(abandoned > 50);  // the undeleted jobs came back and were done by someone
    int total_receipts = 0;
    int came_back = 0;
    for (const auto& [id, n] : receipts) {
        total_receipts += n;
        came_back += n > 1 ? 1 : 0;
    }
    CHECK(came_back == abandoned);
    for (const Consumer& consumer : consumers) CHECK(consumer.received > 100);

    Transaction tx{*s.db};
    const auto a = must(wq.queue_attributes("jobs", now));
    CHECK(a.msgs == 0);
    CHECK(a.hiddenmsgs == 0);
    CHECK(a.totalsent == kJobs);
    CHECK(a.totalrecv == total_receipts);
    CHECK(a.totalrecv == kJobs + abandoned);
}

TEST_CASE("queues and messages survive closing and reopening the database", "[work_queues]") {
    Store s;
    s.close();
    {
        auto db = Db::open(s.path());
        REQUIRE(db);
        Transaction tx{**db};  // open() joins the caller's transaction when there is one
        auto wq = must(WorkQueues::open(**db));
        must(wq->create_queue("jobs", {.vt_ms = 1000, .delay_ms = 5, .maxsize = 4096}, t0));
        must(wq->create_queue("empty", {}, t0));
        must(tx.commit());
    }
    s.reopen();
    std::string a, b, c;
    {
        Transaction tx{*s.db};
        a = must(s.wq->send("jobs", std::string{"a\0a", 3}, std::nullopt, t0));
        b = must(s.wq->send("jobs", "b", std::nullopt, t0));
        c = must(s.wq->send("jobs", "c", 100000, t0));
        must(s.wq->set_queue_attributes("jobs", {.vt_ms = 2000}, t0 + 1));
        CHECK(must_receive(*s.wq, "jobs", t0 + 10).id == a);  // hidden until t0 + 2010
        CHECK(must(s.wq->pop("jobs", t0 + 10))->id == b);
        must(tx.commit());
    }
    {
        Transaction tx{*s.db};
        must(s.wq->send("jobs", "rolled back", std::nullopt, t0 + 20));
    }
    s.reopen();

    Transaction tx{*s.db};
    CHECK(must(s.wq->list_queues()) == std::vector<std::string>{"empty", "jobs"});
    const auto attrs = must(s.wq->queue_attributes("jobs", t0 + 20));
    CHECK(attrs.vt_ms == 2000);
    CHECK(attrs.delay_ms == 5);
    CHECK(attrs.maxsize == 4096);
    CHECK(attrs.created_ms == t0);
    CHECK(attrs.modified_ms == t0 + 1);
    CHECK(attrs.totalsent == 3);
    CHECK(attrs.totalrecv == 2);
    CHECK(attrs.msgs == 2);
    CHECK(attrs.hiddenmsgs == 2);
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 2009));
    const auto back = must_receive(*s.wq, "jobs", t0 + 2010);
    CHECK(back.id == a);
    CHECK(back.body == std::string{"a\0a", 3});
    CHECK(back.rc == 2);
    CHECK(back.fr_ms == t0 + 10);
    CHECK(must(s.wq->next_visible_ms("jobs")) == t0 + 2010 + 2000);  // a, under vt 2000
    CHECK(must(s.wq->delete_message("jobs", c)));
}

TEST_CASE("a full database says storage_full and loses nothing committed", "[work_queues]") {
    Store s;
    {
        Transaction tx{*s.db};
        must(s.wq->create_queue("jobs", {.maxsize = -1}, t0));
        must(tx.commit());
    }
    {
        Statement pages{*s.db, "PRAGMA page_count"};
        REQUIRE(*pages.step());
        const std::int64_t cap = pages.int64(0) + 30;  // room for a few messages
        pages.reset();
        must(s.db->exec("PRAGMA max_page_count = " + std::to_string(cap)));
    }

    const std::string body(3000, 'b');
    std::vector<std::string> committed;
    std::optional<Error> failure;
    for (int i = 0; i < 1000 && !failure; ++i) {
        Transaction tx{*s.db};
        auto id = s.wq->send("jobs", body, std::nullopt, t0 + i);
        if (!id) {
            failure = id.error();
            break;  // the transaction rolls back
        }
        if (auto ok = tx.commit(); !ok) {
            failure = ok.error();
            break;
        }
        committed.push_back(*id);
    }
    REQUIRE(failure);
    CHECK(failure->code == Errc::storage_full);
    CHECK(committed.size() > 5);

    {
        Transaction tx{*s.db};
        const auto a = must(s.wq->queue_attributes("jobs", t0));
        CHECK(a.msgs == static_cast<std::int64_t>(committed.size()));
        CHECK(a.totalsent == static_cast<std::int64_t>(committed.size()));
        // Deleting makes room again.
        for (int i = 0; i < 5; ++i) CHECK(must(s.wq->pop("jobs", t0 + 5000))->id == committed[i]);
        must(tx.commit());
    }
    {
        Transaction tx{*s.db};
        committed.push_back(must(s.wq->send("jobs", body, std::nullopt, t0 + 6000)));
        must(tx.commit());
    }
    s.reopen();
    Transaction tx{*s.db};
    for (std::size_t i = 5; i < committed.size(); ++i) {
        const auto m = must_receive(*s.wq, "jobs", t0 + 7000);
        CHECK(m.id == committed[i]);
        CHECK(m.body == body);
    }
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 7000));
}

TEST_CASE("a rolled-back create, set or delete leaves nothing behind in memory", "[work_queues]") {
    Store s;
    WorkQueues& wq = *s.wq;
    {
        Transaction tx{*s.db};
        must(wq.create_queue("keep", {.vt_ms = 1000}, t0));
        must(tx.commit());
    }
    SECTION("create") {
        {
            Transaction tx{*s.db};
            must(wq.create_queue("ghost", {}, t0));
            must(wq.send("ghost", "x", std::nullopt, t0));
        }  // rolled back
        {
            Transaction tx{*s.db};
            must(wq.create_queue("other", {}, t0));  // takes the row id ghost had
            must(tx.commit());
        }
        Transaction tx{*s.db};
        CHECK(code_of(wq.send("ghost", "x", std::nullopt, t0)) == Errc::unknown_queue);
        CHECK(must(wq.queue_attributes("other", t0)).msgs == 0);
        CHECK(must(wq.list_queues()) == std::vector<std::string>{"keep", "other"});
    }
    SECTION("set") {
        {
            Transaction tx{*s.db};
            must(wq.set_queue_attributes("keep", {.vt_ms = 5000, .maxsize = 1024}, t0 + 1));
            CHECK(code_of(wq.send("keep", std::string(2000, 'x'), std::nullopt, t0)) ==
                  Errc::message_too_large);
        }  // rolled back
        Transaction tx{*s.db};
        must(wq.send("keep", std::string(2000, 'x'), std::nullopt, t0));
        must_receive(wq, "keep", t0);
        CHECK(must_receive(wq, "keep", t0 + 1000).rc == 2);  // the old vt of 1000 ms
        CHECK(must(wq.queue_attributes("keep", t0)).modified_ms == t0);
    }
    SECTION("delete") {
        {
            Transaction tx{*s.db};
            must(wq.send("keep", "x", std::nullopt, t0));
            must(tx.commit());
        }
        {
            Transaction tx{*s.db};
            must(wq.delete_queue("keep"));
            CHECK(code_of(wq.receive("keep", std::nullopt, t0)) == Errc::unknown_queue);
        }  // rolled back
        Transaction tx{*s.db};
        CHECK(must_receive(wq, "keep", t0).body == "x");
    }
}

TEST_CASE("work queue tables of a newer schema version are refused", "[work_queues]") {
    Store s;
    must(s.db->exec("UPDATE wq_meta SET value = 2 WHERE key = 'schema_version'"));
    s.wq.reset();
    auto again = WorkQueues::open(*s.db);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::storage_failed);
    CHECK(again.error().detail.find("schema version 2") != std::string::npos);
}

TEST_CASE("a job received max_receive times moves to the dead-letter queue on the next receive",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    QueueOptions options;
    options.vt_ms = 100;
    options.max_receive = 2;
    options.dead_letter = "jobs.dead";
    must(s.wq->create_queue("jobs", options, t0));
    const std::string id = must(s.wq->send("jobs", "poison", std::nullopt, t0));
    CHECK(must_receive(*s.wq, "jobs", t0).rc == 1);
    CHECK(must_receive(*s.wq, "jobs", t0 + 100).rc == 2);
    // Its third receive would exceed the limit: it moves instead, and nothing is left.
    CHECK(nothing_visible(*s.wq, "jobs", t0 + 200));
    const auto dead = must_receive(*s.wq, "jobs.dead", t0 + 200);
    CHECK(dead.id == id);
    CHECK(dead.body == "poison");
    CHECK(dead.rc == 1);
    const auto attributes = must(s.wq->queue_attributes("jobs", t0 + 200));
    CHECK(attributes.totaldead == 1);
    CHECK(attributes.msgs == 0);
    CHECK(attributes.dead_letter == "jobs.dead");
    must(tx.commit());
}

TEST_CASE("dead-letter settings are checked", "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    QueueOptions needs_limit;
    needs_limit.dead_letter = "dlq";
    CHECK(s.wq->create_queue("a", needs_limit, t0).error().code == Errc::bad_option);
    QueueOptions itself;
    itself.max_receive = 1;
    itself.dead_letter = "b";
    CHECK(s.wq->create_queue("b", itself, t0).error().code == Errc::bad_option);
    QueueOptions no_dlq;
    no_dlq.max_receive = 1;
    must(s.wq->create_queue("c", no_dlq, t0));
    (void)must(s.wq->send("c", "x", std::nullopt, t0));
    (void)must_receive(*s.wq, "c", t0, 10);
    CHECK(nothing_visible(*s.wq, "c", t0 + 20));  // dropped: no dead-letter queue
    CHECK(must(s.wq->queue_attributes("c", t0 + 20)).totaldead == 1);
}

TEST_CASE("batches send, receive and delete like loops of single calls, counters included",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 100}, t0));
    const std::vector<std::string> bodies{"a", "b", "c", "d", "e"};
    const auto ids = must(s.wq->send_batch("jobs", bodies, std::nullopt, t0));
    REQUIRE(ids.size() == 5);
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 5);

    // Oldest first, at most max, each hidden for the queue's vt.
    const auto first = must(s.wq->receive_batch("jobs", 3, std::nullopt, t0 + 1));
    REQUIRE(first.size() == 3);
    for (std::size_t i = 0; i < first.size(); ++i) {
        CHECK(first[i].id == ids[i]);
        CHECK(first[i].body == bodies[i]);
        CHECK(first[i].rc == 1);
        CHECK(first[i].fr_ms == t0 + 1);
    }
    const auto rest = must(s.wq->receive_batch("jobs", 10, std::nullopt, t0 + 2));
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].id == ids[3]);
    CHECK(rest[1].id == ids[4]);
    CHECK(must(s.wq->receive_batch("jobs", 10, std::nullopt, t0 + 3)).empty());

    const std::vector<std::string> gone{ids[0], "no-such-id", ids[2], ids[0]};
    CHECK(must(s.wq->delete_batch("jobs", gone)) == std::vector<bool>{true, false, true, false});
    auto attrs = must(s.wq->queue_attributes("jobs", t0 + 3));
    CHECK(attrs.totalsent == 5);
    CHECK(attrs.totalrecv == 5);
    CHECK(attrs.msgs == 3);
    CHECK(attrs.hiddenmsgs == 3);

    // What was not deleted comes back after vt, with its own vt for this receive.
    const auto again = must(s.wq->receive_batch("jobs", 10, 1000, t0 + 102));
    REQUIRE(again.size() == 3);
    CHECK(again[0].rc == 2);
    CHECK(again[0].fr_ms == t0 + 1);
    CHECK(must(s.wq->receive_batch("jobs", 10, std::nullopt, t0 + 1000)).empty());
    CHECK(must(s.wq->receive_batch("jobs", 10, std::nullopt, t0 + 1102)).size() == 3);
    CHECK(must(s.wq->queue_attributes("jobs", t0 + 1102)).totalrecv == 11);
}

TEST_CASE("a batch fails as a whole on a bad job, an unknown queue or a bad time",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.maxsize = 1024}, t0));
    const std::vector<std::string> bodies{"ok", std::string(1025, 'x')};
    CHECK(code_of(s.wq->send_batch("jobs", bodies, std::nullopt, t0)) == Errc::message_too_large);
    CHECK(code_of(s.wq->send_batch("nope", bodies, std::nullopt, t0)) == Errc::unknown_queue);
    CHECK(code_of(s.wq->send_batch("jobs", bodies, -1, t0)) == Errc::bad_timeout);
    CHECK(code_of(s.wq->receive_batch("nope", 5, std::nullopt, t0)) == Errc::unknown_queue);
    CHECK(code_of(s.wq->receive_batch("jobs", 5, -1, t0)) == Errc::bad_timeout);
    CHECK(code_of(s.wq->delete_batch("nope", bodies)) == Errc::unknown_queue);
    // The caller's savepoint drops what a failed batch stored before its bad job; the
    // counter is written only once the whole batch went in.
    CHECK(must(s.wq->queue_attributes("jobs", t0)).totalsent == 0);
}

TEST_CASE("a batch receive dead-letters used-up jobs and still fills up with the next ones",
          "[work_queues]") {
    Store s;
    Transaction tx{*s.db};
    must(s.wq->create_queue("jobs", {.vt_ms = 100, .max_receive = 1, .dead_letter = "dead"}, t0));
    const std::vector<std::string> first{"a", "b"};
    must(s.wq->send_batch("jobs", first, std::nullopt, t0));
    CHECK(must(s.wq->receive_batch("jobs", 2, std::nullopt, t0 + 1)).size() == 2);
    const std::vector<std::string> second{"c", "d"};
    must(s.wq->send_batch("jobs", second, std::nullopt, t0 + 50));
    // a and b are visible again at t0 + 101 but used up: moved, and c and d come instead.
    const auto got = must(s.wq->receive_batch("jobs", 3, std::nullopt, t0 + 200));
    REQUIRE(got.size() == 2);
    CHECK(got[0].body == "c");
    CHECK(got[1].body == "d");
    CHECK(must(s.wq->queue_attributes("dead", t0 + 200)).msgs == 2);
    CHECK(must(s.wq->queue_attributes("jobs", t0 + 200)).totaldead == 2);
}
