#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "adashta/store/queue_settings.hpp"

#include "temp_dir.hpp"

using namespace adashta;
using namespace adashta::store;
namespace fs = std::filesystem;

namespace {

using adashta::test::TempDir;

// Writes text to dir/adashta.json and loads it.
Result<std::map<std::string, QueueSettings>> load(const TempDir& dir, const std::string& text) {
    const auto path = dir.path / "adashta.json";
    std::ofstream{path} << text;
    return load_queue_settings(path.string());
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("durations read as milliseconds with or without units", "[settings]") {
    CHECK(*parse_duration_ms("0") == 0);
    CHECK(*parse_duration_ms("250") == 250);
    CHECK(*parse_duration_ms("250ms") == 250);
    CHECK(*parse_duration_ms("30s") == 30'000);
    CHECK(*parse_duration_ms("5m") == 300'000);
    CHECK(*parse_duration_ms("2h") == 7'200'000);
    CHECK(*parse_duration_ms("7d") == 604'800'000);
    CHECK(*parse_duration_ms("1h30m") == 5'400'000);
    CHECK(*parse_duration_ms("1s500ms") == 1'500);
    CHECK(*parse_duration_ms(" 30s ") == 30'000);
}

TEST_CASE("a bad duration says what is wrong and what is accepted", "[settings]") {
    struct Case {
        std::string_view text;  // the input
        Errc code;              // the error it gets
        std::string_view says;  // part of the detail
    };
    const Case cases[] = {
        {"", Errc::bad_option, "empty duration"},
        {"-5s", Errc::bad_timeout, "negative"},
        {"5x", Errc::bad_option, "unknown unit \"x\""},
        {"abc", Errc::bad_option, "not a duration"},
        {"1h30", Errc::bad_option, "without a unit"},
        {"1.5s", Errc::bad_option, "not a duration"},
        {"30 s", Errc::bad_option, "not a duration"},
        {"5S", Errc::bad_option, "not a duration"},
        {"99999999999999999999", Errc::bad_timeout, "too large"},
        {"999999999999999d", Errc::bad_timeout, "too large"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto ms = parse_duration_ms(c.text);
        REQUIRE_FALSE(ms);
        CHECK(ms.error().code == c.code);
        CHECK(contains(ms.error().detail, c.says));
        if (c.code == Errc::bad_option && !c.text.empty())
            CHECK(contains(ms.error().detail, "30s"));  // shows what would work
    }
}

TEST_CASE("durations format back to what they parse from", "[settings]") {
    for (std::int64_t ms : {0LL, 1LL, 999LL, 1'000LL, 90'000LL, 5'400'000LL, 604'800'000LL,
                            31'536'000'000LL, 93'784'005LL}) {
        INFO(ms);
        CHECK(*parse_duration_ms(format_duration(ms)) == ms);
    }
    CHECK(format_duration(90'000) == "1m30s");
    CHECK(format_duration(12 * kHourMs) == "12h");
}

TEST_CASE("default settings are valid and times out of range are bad_timeout", "[settings]") {
    CHECK(QueueSettings{}.validate("orders"));

    QueueSettings s;
    s.visibility_ms = -1;
    auto negative = s.validate("orders");
    REQUIRE_FALSE(negative);
    CHECK(negative.error().code == Errc::bad_timeout);
    CHECK(negative.error().detail.starts_with("visibility: "));

    s.visibility_ms = 13 * kHourMs;
    auto too_long = s.validate("orders");
    REQUIRE_FALSE(too_long);
    CHECK(too_long.error().code == Errc::bad_timeout);
    CHECK(contains(too_long.error().detail, "maximum of 12h"));

    s = {};
    s.retention_ms = 0;
    CHECK(s.validate().error().code == Errc::bad_timeout);
    s = {};
    s.delay_ms = 366 * kDayMs;
    CHECK(s.validate().error().code == Errc::bad_timeout);
}

TEST_CASE("a dead-letter queue must be another valid queue and needs maxReceive", "[settings]") {
    QueueSettings s;
    s.max_receive = 3;
    s.dead_letter = "orders.dead";
    CHECK(s.validate("orders"));

    s.dead_letter = "orders dead";
    CHECK(s.validate("orders").error().code == Errc::bad_option);
    s.dead_letter = "orders";
    auto self = s.validate("orders");
    REQUIRE_FALSE(self);
    CHECK(contains(self.error().detail, "its own dead-letter queue"));
    s.dead_letter = "orders.dead";
    s.max_receive = 0;
    auto unused = s.validate("orders");
    REQUIRE_FALSE(unused);
    CHECK(unused.error().detail.starts_with("deadLetter: "));
    CHECK(contains(unused.error().detail, "maxReceive"));

    s = {};
    s.max_message_bytes = 0;
    CHECK(s.validate().error().code == Errc::bad_option);
    s = {};
    s.max_messages = 0;
    CHECK(s.validate().error().code == Errc::bad_option);
    s = {};
    s.max_receive = -1;
    CHECK(s.validate().error().code == Errc::bad_option);
}

TEST_CASE("maxBytes is 0 (no limit) or room for at least the largest message", "[settings]") {
    QueueSettings s;
    CHECK(s.max_bytes == 0);
    s.max_bytes = s.max_message_bytes;
    CHECK(s.validate());
    s.max_bytes = s.max_message_bytes - 1;
    auto small = s.validate();
    REQUIRE_FALSE(small);
    CHECK(small.error().code == Errc::bad_option);
    CHECK(contains(small.error().detail, "maxBytes"));
    CHECK(contains(small.error().detail, "less than maxMessageBytes"));
    s.max_bytes = -1;
    CHECK(s.validate().error().code == Errc::bad_option);

    auto parsed = parse_queue_settings(R"({"maxBytes": 65536, "maxMessageBytes": 1024})", {}, "q");
    REQUIRE(parsed);
    CHECK(parsed->max_bytes == 65'536);
    // A queue that stores nothing has nothing to limit.
    auto fleeting = parse_queue_settings(R"({"durable": false, "maxBytes": 2000000})", {}, "q",
                                         "adashta.json: queues.q");
    REQUIRE_FALSE(fleeting);
    CHECK(contains(fleeting.error().detail, "queues.q.maxBytes"));
}

TEST_CASE("a config file sets each queue's settings and leaves the rest at defaults",
          "[settings]") {
    TempDir dir;
    auto queues = load(dir, R"({"queues": {
        "orders": {"retention": "7d", "visibility": "30s", "delay": "0", "maxReceive": 5,
                   "deadLetter": "orders.dead", "maxMessages": 100000,
                   "maxMessageBytes": 65536, "clientSchedule": true},
        "chat": {"retention": "1h"},
        "jobs": {"visibility": 1500, "delay": "1m30s"}}})");
    REQUIRE(queues);
    REQUIRE(queues->size() == 3);
    const QueueSettings& orders = queues->at("orders");
    CHECK(orders.retention_ms == 7 * kDayMs);
    CHECK(orders.visibility_ms == 30'000);
    CHECK(orders.delay_ms == 0);
    CHECK(orders.max_receive == 5);
    CHECK(orders.dead_letter == "orders.dead");
    CHECK(orders.max_messages == 100'000);
    CHECK(orders.max_message_bytes == 65'536);
    CHECK(orders.client_schedule);

    QueueSettings chat;
    chat.retention_ms = kHourMs;
    CHECK(queues->at("chat") == chat);
    CHECK(queues->at("jobs").visibility_ms == 1'500);
    CHECK(queues->at("jobs").delay_ms == 90'000);
}

TEST_CASE("an empty config file section configures nothing", "[settings]") {
    TempDir dir;
    CHECK(load(dir, "{}")->empty());
    CHECK(load(dir, R"({"queues": {}})")->empty());
    // The edge's keys are its own to check (cli/config_file.cpp), typos included.
    CHECK(load(dir, R"({"http": "127.0.0.1:8080", "auth": {"mode": "off"}, "queue": {}})")->empty());
}

TEST_CASE("a missing config file says where it looked and how to write one", "[settings]") {
    TempDir dir;
    const std::string path = (dir.path / "nope.json").string();
    auto queues = load_queue_settings(path);
    REQUIRE_FALSE(queues);
    CHECK(queues.error().code == Errc::bad_option);
    CHECK(contains(queues.error().detail, path));
    CHECK(contains(queues.error().detail, "does not exist"));
    CHECK(contains(queues.error().detail, R"({"queues": {"orders": {"retention": "7d")"));

    auto folder = load_queue_settings(dir.path.string());
    REQUIRE_FALSE(folder);
    CHECK(contains(folder.error().detail, "is a folder"));
}

TEST_CASE("each mistake in a config file names the file, the queue and the key", "[settings]") {
    TempDir dir;
    const std::string file = (dir.path / "adashta.json").string();
    struct Case {
        std::string text;       // the file
        std::string_view says;  // part of the detail after "<file>: "
    };
    const Case cases[] = {
        {R"({"queues": {"orders": {"visibilty": "30s"}}})",
         "queues.orders.visibilty: unknown key; known keys: retention"},
        {R"({"queues": {"orders": {"visibility": "30x"}}})",
         "queues.orders.visibility: \"30x\": unknown unit"},
        {R"({"queues": {"orders": {"visibility": "13h"}}})",
         "queues.orders.visibility: 13h is more than the maximum of 12h"},
        {R"({"queues": {"orders": {"visibility": -5}}})",
         "queues.orders.visibility: -5 is negative"},
        {R"({"queues": {"orders": {"visibility": 1.5}}})",
         "queues.orders.visibility: expected whole milliseconds"},
        {R"({"queues": {"orders": {"retention": true}}})", "queues.orders.retention: expected"},
        {R"({"queues": {"orders": {"maxReceive": "five"}}})",
         "queues.orders.maxReceive: expected a whole number"},
        {R"({"queues": {"orders": {"maxMessageBytes": 0}}})",
         "queues.orders.maxMessageBytes: 0 is outside"},
        {R"({"queues": {"orders": {"clientSchedule": "yes"}}})",
         "queues.orders.clientSchedule: expected true or false"},
        {R"({"queues": {"orders": {"deadLetter": 7}}})", "queues.orders.deadLetter: expected"},
        {R"({"queues": {"orders": {"deadLetter": "orders"}}})",
         "queues.orders.deadLetter: a queue cannot be its own"},
        {R"({"queues": {"or ders": {}}})", "queues.or ders: not a queue name"},
        {R"({"queues": {"orders": 5}})", "queues.orders: expected an object"},
        {R"({"queues": {"orders": {"delay": "1s", "delay": "2s"}}})",
         "queues.orders: \"delay\" appears twice"},
        {R"({"queues": ["orders"]})", "queues: expected an object"},
        {R"({"queues": {"orders": {}},})", "not valid JSON"},
        {R"([1, 2])", "expected an object"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto queues = load(dir, c.text);
        REQUIRE_FALSE(queues);
        CHECK(queues.error().code == Errc::bad_option);
        CHECK(queues.error().detail.starts_with(file + ": "));
        CHECK(contains(queues.error().detail, c.says));
    }
}

TEST_CASE("settings written as JSON read back the same", "[settings]") {
    QueueSettings s;
    s.retention_ms = 3 * kHourMs;
    s.max_messages = 42;
    s.max_message_bytes = 4096;
    s.max_bytes = 1 << 20;
    s.visibility_ms = 1234;
    s.delay_ms = 5;
    s.max_receive = 3;
    s.dead_letter = "a\"b";  // needs escaping; invalid as a name, so check the parse only
    s.client_schedule = true;
    const std::string text = to_json(s);
    s.dead_letter = "dead";
    auto back = parse_queue_settings(to_json(s), {}, "orders");
    REQUIRE(back);
    CHECK(*back == s);
    CHECK(contains(text, R"("deadLetter":"a\"b")"));
}

TEST_CASE("settings from JSON apply on top of a base", "[settings]") {
    QueueSettings base;
    base.visibility_ms = 5'000;
    auto s = parse_queue_settings(R"({"retention": "2h"})", base, "orders");
    REQUIRE(s);
    CHECK(s->retention_ms == 2 * kHourMs);
    CHECK(s->visibility_ms == 5'000);
    auto bad = parse_queue_settings(R"({"retention": "2w"})", base, "orders");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().detail.starts_with("retention: \"2w\": unknown unit"));
}

TEST_CASE("a queue with durable false takes only the settings that apply to it", "[settings]") {
    auto fast = parse_queue_settings(R"({"durable": false, "maxMessageBytes": 512})", {}, "ticks");
    REQUIRE(fast);
    CHECK_FALSE(fast->durable);
    CHECK(fast->max_message_bytes == 512);
    CHECK(QueueSettings{}.durable);

    // Keys that only a stored queue can honour are refused, named, with what to do.
    for (const std::string key :
         {R"("retention": "1h")", R"("visibility": "5s")", R"("maxMessages": 10)",
          R"("delay": "1s")", R"("clientSchedule": true)", R"("maxReceive": 3)"}) {
        auto refused = parse_queue_settings("{\"durable\": false, " + key + "}", {}, "ticks");
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == Errc::bad_option);
        CHECK(contains(refused.error().detail, "\"durable\": false"));
    }
    auto bad = parse_queue_settings(R"({"durable": "no"})", {}, "ticks");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().detail == "durable: expected true or false, found \"no\"");

    // It reads back the same, and says what it is.
    auto back = parse_queue_settings(to_json(*fast), {}, "ticks");
    REQUIRE(back);
    CHECK(*back == *fast);
    CHECK(contains(to_json(*fast), R"("durable":false)"));
}
