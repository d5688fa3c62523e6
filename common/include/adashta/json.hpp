// JSON without a tree: validate a text, read the members of one object as raw value texts,
// and write strings with the right escapes. The edge never parses message data; it checks
// it once and splices the raw text into outgoing frames.
//
//   auto obj = json::ObjectView::parse(R"({"type":"produce","ref":7,"data":{"a":1}})");
//   if (!obj) return obj.error();          // Errc::bad_json, detail says where
//   auto type = obj->string("type");       // "produce"
//   auto data = obj->raw("data");          // R"({"a":1})", a view into the input
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::json {

// Deepest nesting of arrays and objects that is_valid and ObjectView accept.
inline constexpr int kMaxDepth = 64;

// True when text is exactly one JSON value (RFC 8259) with optional surrounding whitespace,
// strings hold valid UTF-8 and escapes, and nesting is at most max_depth.
bool is_valid(std::string_view text, int max_depth = kMaxDepth);

// Where a text stops being one JSON value, for messages to people ("line 2, column 7:
// expected ':'").
struct Failure {
    std::size_t offset = 0;  // byte offset of the first byte that is wrong (size(): the end)
    std::string expected;    // what was expected there, e.g. "expected ':'"
};
// The first failure in text, or nullopt when is_valid(text, max_depth).
std::optional<Failure> first_failure(std::string_view text, int max_depth = kMaxDepth);

// One JSON object, read one level deep. Values are views into the parsed text, which must
// outlive the ObjectView.
class ObjectView {
public:
    // Fails with Errc::bad_json (detail: byte offset and what was expected) unless text is a
    // valid JSON object; nested values are fully validated too.
    static Result<ObjectView> parse(std::string_view text);

    // Raw JSON text of the first member named key, or nullopt.
    std::optional<std::string_view> raw(std::string_view key) const;
    // The member's value when it is a JSON string (unescaped), else nullopt.
    std::optional<std::string> string(std::string_view key) const;
    // The member's value when it is an integer literal that fits int64, else nullopt.
    std::optional<std::int64_t> integer(std::string_view key) const;
    // The member's value when it is true or false, else nullopt.
    std::optional<bool> boolean(std::string_view key) const;
    // True when the object has a member named key.
    bool has(std::string_view key) const { return raw(key).has_value(); }
    std::size_t size() const { return members_.size(); }
    // Every member in order: decoded key, raw value. For readers that must refuse keys they
    // do not know (config files); frames ask for keys by name instead.
    std::vector<std::pair<std::string, std::string_view>> members() const;

private:
    std::vector<std::pair<std::string_view, std::string_view>>
        members_;  // raw key literal, raw value
};

// The raw texts of the elements of one JSON array (views into text), fully validated;
// Errc::bad_json when text is not an array.
Result<std::vector<std::string_view>> array_elements(std::string_view text);

// Appends s as a quoted JSON string (escapes ", \, control characters; UTF-8 passes through).
void append_quoted(std::string& out, std::string_view s);
// s as a quoted JSON string.
std::string quote(std::string_view s);
// Decodes a JSON string literal, quotes included; nullopt when it is not one.
std::optional<std::string> unquote(std::string_view literal);

}  // namespace adashta::json
