// The JSON validator and the readers on it (common/include/adashta/json.hpp). Besides
// crashes and sanitizer reports, checks that the functions agree with each other: a text
// is_valid exactly when first_failure finds nothing, what ObjectView and array_elements
// hand out is valid JSON itself, and quote / unquote undo each other.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adashta/json.hpp"
#include "check.hpp"

namespace json = adashta::json;

namespace {

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r'))
        s.remove_prefix(1);
    return s;
}

void check_object(std::string_view text, bool valid) {
    auto obj = json::ObjectView::parse(text);
    const bool object_text = valid && trim_left(text).starts_with('{');
    FUZZ_CHECK(static_cast<bool>(obj) == object_text);
    if (!obj) return;
    for (const auto& [key, raw] : obj->members()) {
        FUZZ_CHECK(json::is_valid(raw));
        const auto first = obj->raw(key);
        FUZZ_CHECK(first.has_value() && json::is_valid(*first));
        if (auto s = obj->string(key)) {
            FUZZ_CHECK(first->starts_with('"'));
            const std::string again = json::quote(*s);
            FUZZ_CHECK(json::is_valid(again));
            FUZZ_CHECK(json::unquote(again) == *s);
        }
        if (auto n = obj->integer(key)) FUZZ_CHECK(std::to_string(*n).size() <= first->size() + 1);
        if (auto b = obj->boolean(key)) FUZZ_CHECK(*first == (*b ? "true" : "false"));
    }
}

void check_array(std::string_view text, bool valid) {
    auto elements = json::array_elements(text);
    FUZZ_CHECK(static_cast<bool>(elements) == (valid && trim_left(text).starts_with('[')));
    if (!elements) return;
    for (std::string_view element : *elements) FUZZ_CHECK(json::is_valid(element));
}

// UTF-8 by RFC 3629, written plainly as the reference for the validator's fast one: no
// overlong forms, no surrogates, nothing above U+10FFFF.
bool is_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size()) return false;
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

void check_strings(std::string_view text) {
    // Any bytes quoted are valid JSON (invalid UTF-8 becomes U+FFFD), and unquote gives
    // UTF-8 back unchanged.
    const std::string quoted = json::quote(text);
    FUZZ_CHECK(json::is_valid(quoted));
    const auto back = json::unquote(quoted);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK((*back == text) == is_utf8(text));
    // The text as a literal: when it decodes, quoting the result reads back the same.
    if (auto decoded = json::unquote(text)) {
        FUZZ_CHECK(json::is_valid(text));
        FUZZ_CHECK(is_utf8(*decoded));
        const std::string requoted = json::quote(*decoded);
        FUZZ_CHECK(json::is_valid(requoted));
        FUZZ_CHECK(json::unquote(requoted) == *decoded);
    }
    // A string literal of raw bytes is valid exactly when they are UTF-8 with no character
    // that must be escaped.
    bool plain = true;
    for (char c : text)
        plain = plain && c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
    if (plain) FUZZ_CHECK(json::is_valid("\"" + std::string{text} + "\"") == is_utf8(text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    const bool valid = json::is_valid(text);
    const auto failure = json::first_failure(text);
    FUZZ_CHECK(valid == !failure.has_value());
    if (failure) {
        FUZZ_CHECK(failure->offset <= text.size());
        FUZZ_CHECK(!failure->expected.empty());
    }
    // A shallower limit never accepts more; a deeper one never less.
    if (valid) FUZZ_CHECK(json::is_valid(text, json::kMaxDepth + 1));
    if (json::is_valid(text, 3)) FUZZ_CHECK(valid);
    check_object(text, valid);
    check_array(text, valid);
    check_strings(text);
    return 0;
}
