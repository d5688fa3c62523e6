#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "adashta/json.hpp"

using namespace std::string_literals;
namespace json = adashta::json;

namespace {

std::string nested_arrays(int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
}

std::string nested_objects(int depth) {
    std::string text;
    for (int i = 0; i < depth; ++i) text += "{\"a\":";
    text += "1";
    text += std::string(static_cast<std::size_t>(depth), '}');
    return text;
}

std::string parse_failure(std::string_view text) {
    auto obj = json::ObjectView::parse(text);
    REQUIRE_FALSE(obj);
    CHECK(obj.error().code == adashta::Errc::bad_json);
    return obj.error().detail;
}

}  // namespace

// y_ cases: texts every JSON parser must accept (in the spirit of JSONTestSuite).
TEST_CASE("valid JSON texts are accepted", "[json]") {
    const std::string text = GENERATE(
        as<std::string>{}, "0", "-0", "1", "-1", "123456789", "1e5", "1E5", "1e+5", "1e-5", "-0.0",
        "0.5", "1.25e-10", "12345678901234567890123456789", "-0e0", "true", "false", "null",
        R"("")", R"("abc")", R"("\"\\\/\b\f\n\r\t")", R"("\u0000")", R"("\u00e9")",
        R"("\uD83D\uDE00")", R"("\uffff")", "\"caf\xC3\xA9\"", "\"\xE2\x82\xAC\"",
        "\"\xF0\x9F\x98\x80\"", "\"\xEF\xBF\xBF\"", "\"\xF4\x8F\xBF\xBF\"", "\"\x7F\"", "[]", "{}",
        "[1,2,3]", R"({"a":1,"b":[true,false,null]})", " \t\r\n{ \"a\" : [ 1 , { } ] } \t\r\n",
        R"({"a":1,"a":2})", R"({"":0})", "[[[[]]]]", R"([{"x":{"y":[1,"2",{"z":null}]}}])");
    INFO(text);
    CHECK(json::is_valid(text));
}

// n_ cases: texts every JSON parser must refuse.
TEST_CASE("invalid JSON texts are rejected", "[json]") {
    const std::string text = GENERATE(
        as<std::string>{}, "", " ", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "1.e5", "0x10",
        "NaN", "Infinity", "-Infinity", "1 2", "tru", "nul", "falsey", "True", "[1,]", "[,1]",
        "[1,,2]", R"({"a":1,})", R"({,"a":1})", R"({"a" 1})", R"({"a":})", R"({a:1})", "{'a':1}",
        R"({"a":1}})", "[1]]", "[", "{", "]", "}", R"("abc)", R"("\x41")", R"("\u12")",
        R"("\u12G4")", R"("\")", R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")", R"("\ud800x")",
        R"("\udc00\ud800")", R"("\uDBFF\uDBFF")", "\"a\tb\"", "\"a\nb\"", "\"\x01\"", "\"\x1F\"",
        std::string("\"\0\"", 3), "\"\x80\"", "\"\xBF\"", "\"\xC0\x80\"", "\"\xC1\xBF\"",
        "\"\xE0\x80\x80\"", "\"\xE0\x9F\xBF\"", "\"\xF0\x80\x80\x80\"", "\"\xF0\x8F\xBF\xBF\"",
        "\"\xED\xA0\x80\"", "\"\xED\xBF\xBF\"", "\"\xF4\x90\x80\x80\"", "\"\xF5\x80\x80\x80\"",
        "\"\xFF\"", "\"\xFE\"", "\"\xC3\"", "\"\xE2\x82\"", "\"\xF0\x9F\x98\"", "\"\xC3\x28\"",
        "\xC3\xA9", "\f1", "\v1", "1\f",
        "\xC2\xA0"
        "1",
        "[1]x", "/* c */1", "1 // c", std::string("1\0", 2), R"(["a" "b"])", R"({"a":1 "b":2})");
    INFO(text);
    CHECK_FALSE(json::is_valid(text));
}

TEST_CASE("nesting is accepted up to the depth limit and rejected beyond it", "[json]") {
    CHECK(json::is_valid(nested_arrays(json::kMaxDepth)));
    CHECK_FALSE(json::is_valid(nested_arrays(json::kMaxDepth + 1)));
    CHECK(json::is_valid(nested_objects(json::kMaxDepth)));
    CHECK_FALSE(json::is_valid(nested_objects(json::kMaxDepth + 1)));
    CHECK(json::is_valid("[[1]]", 2));
    CHECK_FALSE(json::is_valid("[[[1]]]", 2));
    CHECK(json::is_valid("1", 0));
    CHECK_FALSE(json::is_valid("[]", 0));
}

TEST_CASE("very deep nesting fails cleanly instead of overflowing the stack", "[json]") {
    CHECK_FALSE(json::is_valid(nested_arrays(100000)));
    CHECK_FALSE(json::ObjectView::parse("{\"a\":" + nested_arrays(100000) + "}"));
}

TEST_CASE("an object view reads each member's raw value", "[json]") {
    const std::string text = R"( {"type":"produce", "ref" : 7, "data":{"a":[1, 2]}, "n":null} )";
    auto obj = json::ObjectView::parse(text);
    REQUIRE(obj);
    CHECK(obj->size() == 4);
    CHECK(obj->raw("type") == R"("produce")");
    CHECK(obj->raw("ref") == "7");
    CHECK(obj->raw("data") == R"({"a":[1, 2]})");
    CHECK(obj->raw("n") == "null");
    CHECK_FALSE(obj->raw("missing"));
    CHECK(obj->has("n"));
    CHECK_FALSE(obj->has("nope"));
}

TEST_CASE("raw values are views into the parsed text", "[json]") {
    const std::string text = R"({"data":[1,2,3]})";
    auto obj = json::ObjectView::parse(text);
    REQUIRE(obj);
    const auto data = obj->raw("data");
    REQUIRE(data);
    CHECK(data->data() == text.data() + 8);
}

TEST_CASE("an empty object has no members", "[json]") {
    auto obj = json::ObjectView::parse(" { } ");
    REQUIRE(obj);
    CHECK(obj->size() == 0);
    CHECK_FALSE(obj->has(""));
}

TEST_CASE("the first of duplicate members wins", "[json]") {
    auto obj = json::ObjectView::parse(R"({"a":1,"a":2})");
    REQUIRE(obj);
    CHECK(obj->integer("a") == 1);
}

TEST_CASE("member keys with escapes match their unescaped names", "[json]") {
    auto obj = json::ObjectView::parse(
        R"({"t\u0079pe":"x","q\"":1,"caf\u00e9":true,"\ud83d\ude00":2,"a\/b":3})");
    REQUIRE(obj);
    CHECK(obj->string("type") == "x");
    CHECK(obj->integer("q\"") == 1);
    CHECK(obj->boolean("caf\xC3\xA9") == true);
    CHECK(obj->integer("\xF0\x9F\x98\x80") == 2);
    CHECK(obj->integer("a/b") == 3);
    CHECK_FALSE(obj->has("t\\u0079pe"));
    CHECK_FALSE(obj->has("typ"));
    CHECK_FALSE(obj->has("types"));
    CHECK_FALSE(obj->has("a\\/b"));
}

TEST_CASE("a key with escapes does not match a longer or shorter name", "[json]") {
    auto obj = json::ObjectView::parse(R"({"\u0061b":1})");
    REQUIRE(obj);
    CHECK(obj->has("ab"));
    CHECK_FALSE(obj->has("a"));
    CHECK_FALSE(obj->has("abc"));
    CHECK_FALSE(obj->has(""));
}

TEST_CASE("string accessor unescapes and refuses non-strings", "[json]") {
    auto obj = json::ObjectView::parse(R"({"s":"a\nb\u0000c","n":1,"z":null,"o":{}})");
    REQUIRE(obj);
    CHECK(obj->string("s") == "a\nb\0c"s);
    CHECK_FALSE(obj->string("n"));
    CHECK_FALSE(obj->string("z"));
    CHECK_FALSE(obj->string("o"));
    CHECK_FALSE(obj->string("missing"));
}

TEST_CASE("integer accessor reads int64 literals only", "[json]") {
    auto obj = json::ObjectView::parse(
        R"({"a":0,"b":-0,"c":-42,"max":9223372036854775807,"min":-9223372036854775808,)"
        R"("over":9223372036854775808,"under":-9223372036854775809,"f":1.0,"e":1e2,"s":"1","t":true})");
    REQUIRE(obj);
    CHECK(obj->integer("a") == 0);
    CHECK(obj->integer("b") == 0);
    CHECK(obj->integer("c") == -42);
    CHECK(obj->integer("max") == INT64_MAX);
    CHECK(obj->integer("min") == INT64_MIN);
    CHECK_FALSE(obj->integer("over"));
    CHECK_FALSE(obj->integer("under"));
    CHECK_FALSE(obj->integer("f"));
    CHECK_FALSE(obj->integer("e"));
    CHECK_FALSE(obj->integer("s"));
    CHECK_FALSE(obj->integer("t"));
    CHECK_FALSE(obj->integer("missing"));
}

TEST_CASE("boolean accessor reads true and false only", "[json]") {
    auto obj = json::ObjectView::parse(R"({"t":true,"f":false,"n":null,"s":"true","i":1})");
    REQUIRE(obj);
    CHECK(obj->boolean("t") == true);
    CHECK(obj->boolean("f") == false);
    CHECK_FALSE(obj->boolean("n"));
    CHECK_FALSE(obj->boolean("s"));
    CHECK_FALSE(obj->boolean("i"));
    CHECK_FALSE(obj->boolean("missing"));
}

TEST_CASE("an object view refuses texts that are not one object", "[json]") {
    const std::string text = GENERATE(as<std::string>{}, "", "[]", "1", "\"{}\"", "null", "{} {}",
                                      "{}x", "{\"a\":1,}", "{\"a\":[1,]}", "{\"a\":\"\\ud800\"}");
    INFO(text);
    CHECK_FALSE(json::ObjectView::parse(text));
}

TEST_CASE("a parse failure says at which byte and what was expected", "[json]") {
    CHECK(parse_failure(R"({"type" "x"})") == "at byte 8: expected ':'");
    CHECK(parse_failure(R"({"a":1 "b":2})") == "at byte 7: expected ',' or '}'");
    CHECK(parse_failure(R"({"a":1,})") == "at byte 7: expected a string key");
    CHECK(parse_failure(R"({"a":[1,]})") == "at byte 8: expected a value");
    CHECK(parse_failure(R"({"a":[1 2]})") == "at byte 8: expected ',' or ']'");
    CHECK(parse_failure(R"({"a":01})") == "at byte 6: expected ',' or '}'");
    CHECK(parse_failure(R"({"a":1.})") == "at byte 7: expected a digit after '.'");
    CHECK(parse_failure(R"({"a":-})") == "at byte 6: expected a digit after '-'");
    CHECK(parse_failure(R"({"a":1e})") == "at byte 7: expected a digit in the exponent");
    CHECK(parse_failure(R"({"a":"\q"})") ==
          R"(at byte 7: expected one of " \ / b f n r t u after '\')");
    CHECK(parse_failure(R"({"a":"\u12"})") == R"(at byte 8: expected 4 hex digits after \u)");
    CHECK(parse_failure(R"({"a":"\ud800"})") ==
          R"(at byte 12: expected \uDC00..\uDFFF after a high surrogate)");
    CHECK(parse_failure(R"({"a":"\udc00"})") ==
          "at byte 8: expected a code point, not a lone low surrogate");
    CHECK(parse_failure("{\"a\":\"x\xC0\x80\"}") == "at byte 7: expected valid UTF-8");
    CHECK(parse_failure("{\"a\":\"x\ny\"}") ==
          "at byte 7: expected an escape instead of a raw control character");
    CHECK(parse_failure(R"({"a":"x)") == R"(at byte 7: expected '"' to close the string)");
    CHECK(parse_failure("[]") == "at byte 0: expected '{'");
    CHECK(parse_failure("  ") == "at byte 2: expected '{'");
    CHECK(parse_failure("{} x") == "at byte 3: expected end of text");
    CHECK(parse_failure("{\"a\":" + nested_arrays(json::kMaxDepth) + "}") ==
          "at byte " + std::to_string(5 + json::kMaxDepth - 1) +
              ": expected nesting no deeper than 64");
}

TEST_CASE("quote escapes quotes, backslashes and control characters", "[json]") {
    CHECK(json::quote("") == R"("")");
    CHECK(json::quote("plain text") == R"("plain text")");
    CHECK(json::quote("a\"b\\c/") == R"("a\"b\\c/")");
    CHECK(json::quote("\n\t\r\b\f") == R"("\n\t\r\b\f")");
    CHECK(json::quote("\x01\x1F"s + '\0') == R"("\u0001\u001f\u0000")");
    CHECK(json::quote("\x7F") == "\"\x7F\"");
}

TEST_CASE("quote passes UTF-8 through and replaces invalid bytes", "[json]") {
    CHECK(json::quote("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") ==
          "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
    CHECK(json::quote("a\xFF"
                      "b") ==
          "\"a\xEF\xBF\xBD"
          "b\"");
    CHECK(json::quote("\xC0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    CHECK(json::quote("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    CHECK(json::quote("cut \xE2\x82") == "\"cut \xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST_CASE("append_quoted appends to what is already there", "[json]") {
    std::string out = "[";
    json::append_quoted(out, "a");
    out += ',';
    json::append_quoted(out, "b\"");
    out += ']';
    CHECK(out == R"(["a","b\""])");
    CHECK(json::is_valid(out));
}

TEST_CASE("every control character survives quote and unquote", "[json]") {
    for (int c = 0; c < 0x20; ++c) {
        std::string s = "x";  // appended: GCC 12 warns falsely on "x" + std::string (-Wrestrict)
        s += static_cast<char>(c);
        s += 'y';
        const std::string quoted = json::quote(s);
        INFO("control character " << c << " quoted as " << quoted);
        CHECK(json::is_valid(quoted));
        CHECK(json::unquote(quoted) == s);
    }
}

TEST_CASE("every byte value survives quote and unquote when it is valid text", "[json]") {
    std::string all_ascii;
    for (int c = 0; c < 0x80; ++c) all_ascii += static_cast<char>(c);
    const std::string samples[] = {all_ascii,
                                   "caf\xC3\xA9",
                                   "\xE2\x82\xAC\xE2\x82\xAC",
                                   "\xF0\x9F\x98\x80",
                                   "\xEF\xBF\xBF",
                                   "\xF4\x8F\xBF\xBF",
                                   "\xC2\x80",
                                   "\xE0\xA0\x80",
                                   "\xF0\x90\x80\x80",
                                   "mixed \"\\\n\xC3\xA9\x01"};
    for (const auto& s : samples) {
        INFO(s);
        const std::string quoted = json::quote(s);
        CHECK(json::is_valid(quoted));
        CHECK(json::unquote(quoted) == s);
    }
}

TEST_CASE("unquote decodes escapes including surrogate pairs", "[json]") {
    CHECK(json::unquote(R"("")") == "");
    CHECK(json::unquote(R"("\"\\\/\b\f\n\r\t")") == "\"\\/\b\f\n\r\t");
    CHECK(json::unquote(R"("\u0041\u00e9\u20AC")") == "A\xC3\xA9\xE2\x82\xAC");
    CHECK(json::unquote(R"("\uD83D\uDE00")") == "\xF0\x9F\x98\x80");
    CHECK(json::unquote(R"("\uDBFF\uDFFF")") == "\xF4\x8F\xBF\xBF");
    CHECK(json::unquote(R"("\u0000")") == "\0"s);
}

TEST_CASE("unquote refuses anything but one string literal", "[json]") {
    const std::string text = GENERATE(as<std::string>{}, "", "\"", "abc", "\"abc", "abc\"",
                                      " \"a\"", "\"a\" ", "\"a\"\"b\"", "1", "null", "[\"a\"]",
                                      R"("\ud800")", "\"\xC0\x80\"", "\"a\tb\"", R"("\z")");
    INFO(text);
    CHECK_FALSE(json::unquote(text));
}

TEST_CASE("escaped code points decode to UTF-8 at every length boundary", "[json]") {
    CHECK(json::unquote(R"("\u007f")") == "\x7F");
    CHECK(json::unquote(R"("\u0080")") == "\xC2\x80");
    CHECK(json::unquote(R"("\u07FF")") == "\xDF\xBF");
    CHECK(json::unquote(R"("\u0800")") == "\xE0\xA0\x80");
    CHECK(json::unquote(R"("\uFFFF")") == "\xEF\xBF\xBF");
    CHECK(json::unquote(R"("\uD800\uDC00")") == "\xF0\x90\x80\x80");
}

TEST_CASE("special bytes are found at every offset of a long string", "[json]") {
    // Long strings are scanned a word at a time; each offset must still be checked.
    for (std::size_t at = 0; at < 24; ++at) {
        INFO("offset " << at);
        std::string body(24, 'a');
        body[at] = '\n';
        CHECK_FALSE(json::is_valid("\"" + body + "\""));
        CHECK(json::unquote(json::quote(body)) == body);
        body[at] = '\x1F';
        CHECK_FALSE(json::is_valid("\"" + body + "\""));
        CHECK(json::unquote(json::quote(body)) == body);
        body[at] = '\x80';
        CHECK_FALSE(json::is_valid("\"" + body + "\""));
        CHECK(json::quote(body).find("\xEF\xBF\xBD") == at + 1);
        body[at] = '"';
        CHECK_FALSE(json::is_valid("\"" + body + "\""));
        CHECK(json::unquote(json::quote(body)) == body);
        body[at] = '\\';
        CHECK_FALSE(json::is_valid("\"" + body + "\""));
        CHECK(json::unquote(json::quote(body)) == body);
        body[at] = ' ';
        CHECK(json::is_valid("\"" + body + "\""));
        CHECK(json::quote(body) == "\"" + body + "\"");
    }
}

TEST_CASE("array elements come back as raw texts, nested ones whole", "[json]") {
    auto elements = adashta::json::array_elements(R"( [1, "two", {"a":[3]}, [] , null] )");
    REQUIRE(elements);
    REQUIRE(elements->size() == 5);
    CHECK((*elements)[1] == R"("two")");
    CHECK((*elements)[2] == R"({"a":[3]})");
    CHECK((*elements)[3] == "[]");
    CHECK(adashta::json::array_elements("[]")->empty());
    CHECK_FALSE(adashta::json::array_elements(R"({"a":1})"));
    CHECK_FALSE(adashta::json::array_elements("[1,]"));
}

TEST_CASE("first_failure gives the offset and what was expected; members lists every key", "[json]") {
    CHECK_FALSE(json::first_failure(R"({"a": [1, 2]})"));
    auto failure = json::first_failure(R"({"a" 1})");
    REQUIRE(failure);
    CHECK(failure->offset == 5);
    CHECK(failure->expected == "expected ':'");
    auto end = json::first_failure(R"({"a":)");
    REQUIRE(end);
    CHECK(end->offset == 5);

    auto object = json::ObjectView::parse(R"({"a\u0062": 1, "c": {"d": 2}})");
    REQUIRE(object);
    const auto members = object->members();
    REQUIRE(members.size() == 2);
    CHECK(members[0].first == "ab");
    CHECK(members[0].second == "1");
    CHECK(members[1].first == "c");
    CHECK(members[1].second == R"({"d": 2})");
}
