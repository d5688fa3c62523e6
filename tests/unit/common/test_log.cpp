#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "adashta/json.hpp"
#include "adashta/log.hpp"

namespace logging = adashta::log;
namespace json = adashta::json;
using namespace std::chrono;

namespace {

// 2026-12-03T10:00:00.123Z
const system_clock::time_point kAt =
    system_clock::time_point{seconds{1796292000}} + milliseconds{123};

}  // namespace

TEST_CASE("a text line has time, component, level and message", "[log]") {
    CHECK(logging::format_line(logging::Format::text, logging::Level::info, "edge", "ready", kAt) ==
          "2026-12-03T10:00:00.123Z edge info: ready\n");
}

TEST_CASE("a JSON line is one object with ts, level, component and msg", "[log]") {
    CHECK(logging::format_line(logging::Format::json, logging::Level::warn, "edge", "ready", kAt) ==
          R"({"ts":"2026-12-03T10:00:00.123Z","level":"warn","component":"edge","msg":"ready"})"
          "\n");
}

TEST_CASE("a JSON line escapes quotes, backslashes, newlines and bad UTF-8", "[log]") {
    const std::string text = "say \"hi\"\\\n\tnext\x01 \xff end \xE2\x9C\x93";
    std::string line =
        logging::format_line(logging::Format::json, logging::Level::error, "we\"b", text, kAt);
    REQUIRE(line.back() == '\n');
    line.pop_back();
    CHECK(line.find('\n') == std::string::npos);  // one record, one line
    auto object = json::ObjectView::parse(line);
    REQUIRE(object);
    CHECK(object->string("msg") == "say \"hi\"\\\n\tnext\x01 \xEF\xBF\xBD end \xE2\x9C\x93");
    CHECK(object->string("component") == "we\"b");
    CHECK(object->string("level") == "error");
}

TEST_CASE("level and format names parse, anything else does not", "[log]") {
    CHECK(logging::parse_level("debug") == logging::Level::debug);
    CHECK(logging::parse_level("warn") == logging::Level::warn);
    CHECK_FALSE(logging::parse_level("warning"));
    CHECK_FALSE(logging::parse_level(""));
    CHECK(logging::parse_format("json") == logging::Format::json);
    CHECK(logging::parse_format("text") == logging::Format::text);
    CHECK_FALSE(logging::parse_format("JSON"));
}

TEST_CASE("set_level hides the levels below it", "[log]") {
    const logging::Level before = logging::level();
    logging::set_level(logging::Level::warn);
    CHECK(logging::enabled(logging::Level::error));
    CHECK(logging::enabled(logging::Level::warn));
    CHECK_FALSE(logging::enabled(logging::Level::info));
    CHECK_FALSE(logging::enabled(logging::Level::debug));
    logging::set_level(before);
}
