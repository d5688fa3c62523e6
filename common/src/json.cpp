// A single-pass JSON scanner (RFC 8259) that validates without building a tree. It runs on
// every browser frame, so it never allocates: ObjectView collects (key, value) views while
// the scanner walks the text, and string decoding happens only when a caller asks for it.
#include "adashta/json.hpp"

#include <charconv>
#include <cstring>

namespace adashta::json {
namespace {

constexpr bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

constexpr bool is_whitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Bytes that stand for themselves inside a string literal, both when reading and writing:
// printable ASCII except the quote and the backslash.
constexpr bool is_plain_string_byte(unsigned char c) {
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

// True when any of the eight bytes in w is not a plain string byte. Word-at-a-time tests
// (a byte below n sets its high bit in (w - n*0x01..) & ~w) let long strings, the bulk of
// message data, be scanned eight bytes per step.
constexpr bool has_special_byte(std::uint64_t w) {
    constexpr std::uint64_t kOnes = 0x0101010101010101;
    constexpr std::uint64_t kHigh = 0x8080808080808080;
    const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
    const std::uint64_t control = (w - kOnes * 0x20) & ~w & kHigh;
    return ((w & kHigh) | control | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'))) !=
           0;
}

// The first byte at or after p that is not a plain string byte, or end.
const char* skip_plain(const char* p, const char* end) {
    while (end - p >= 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, sizeof w);
        if (has_special_byte(w)) break;
        p += 8;
    }
    while (p != end && is_plain_string_byte(static_cast<unsigned char>(*p))) ++p;
    return p;
}

constexpr bool is_high_surrogate(std::uint32_t u) {
    return u >= 0xD800 && u <= 0xDBFF;
}
constexpr bool is_low_surrogate(std::uint32_t u) {
    return u >= 0xDC00 && u <= 0xDFFF;
}

constexpr bool is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

// Length of the well-formed UTF-8 sequence (RFC 3629, table 3-7 of Unicode) that starts at
// p with a non-ASCII byte, or 0 when it is malformed. The narrowed ranges for the second
// byte are what reject overlong forms, UTF-16 surrogates (U+D800..DFFF) and code points
// above U+10FFFF.
std::size_t utf8_sequence_length(const char* p, const char* end) {
    const auto byte = [p](std::size_t i) { return static_cast<unsigned char>(p[i]); };
    const auto available = static_cast<std::size_t>(end - p);
    const unsigned char lead = byte(0);
    std::size_t length = 0;
    unsigned char second_min = 0x80;
    unsigned char second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) second_min = 0xA0;  // below is an overlong 2-byte form
        if (lead == 0xED) second_max = 0x9F;  // above are the surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) second_min = 0x90;  // below is an overlong 3-byte form
        if (lead == 0xF4) second_max = 0x8F;  // above is beyond U+10FFFF
    } else {
        return 0;  // a stray continuation byte, C0/C1 (always overlong) or F5..FF
    }
    if (available < length || byte(1) < second_min || byte(1) > second_max) return 0;
    for (std::size_t i = 2; i < length; ++i)
        if (!is_continuation(byte(i))) return 0;
    return length;
}

// Reads exactly four hex digits at p (the caller checked they are in bounds).
bool read_hex4(const char* p, std::uint32_t& out) {
    out = 0;
    for (int i = 0; i < 4; ++i) {
        const char c = p[i];
        std::uint32_t digit = 0;
        if (c >= '0' && c <= '9')
            digit = static_cast<std::uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = static_cast<std::uint32_t>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = static_cast<std::uint32_t>(c - 'A' + 10);
        else
            return false;
        out = (out << 4) | digit;
    }
    return true;
}

// Writes code point cp (never a surrogate) as UTF-8; returns the number of bytes.
std::size_t encode_utf8(std::uint32_t cp, char* out) {
    const auto put = [out](std::size_t i, std::uint32_t v) { out[i] = static_cast<char>(v); };
    if (cp < 0x80) {
        put(0, cp);
        return 1;
    }
    if (cp < 0x800) {
        put(0, 0xC0 | (cp >> 6));
        put(1, 0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        put(0, 0xE0 | (cp >> 12));
        put(1, 0x80 | ((cp >> 6) & 0x3F));
        put(2, 0x80 | (cp & 0x3F));
        return 3;
    }
    put(0, 0xF0 | (cp >> 18));
    put(1, 0x80 | ((cp >> 12) & 0x3F));
    put(2, 0x80 | ((cp >> 6) & 0x3F));
    put(3, 0x80 | (cp & 0x3F));
    return 4;
}

// Decodes one unit of an already validated string body at p: a literal byte, or a whole
// escape (a surrogate pair counts as one). Advances p; returns the bytes written to out.
std::size_t decode_next(const char*& p, char (&out)[4]) {
    if (*p != '\\') {
        out[0] = *p++;
        return 1;
    }
    const char kind = p[1];
    p += 2;
    switch (kind) {
        case 'b':
            out[0] = '\b';
            return 1;
        case 'f':
            out[0] = '\f';
            return 1;
        case 'n':
            out[0] = '\n';
            return 1;
        case 'r':
            out[0] = '\r';
            return 1;
        case 't':
            out[0] = '\t';
            return 1;
        case 'u':
            break;
        default:
            out[0] = kind;
            return 1;  // " \ and /
    }
    std::uint32_t cp = 0;
    read_hex4(p, cp);
    p += 4;
    if (is_high_surrogate(cp)) {  // validation guaranteed a \uDC00..DFFF follows
        std::uint32_t low = 0;
        read_hex4(p + 2, low);
        p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    return encode_utf8(cp, out);
}

// The body of a validated string literal, quotes stripped.
std::string_view literal_body(std::string_view literal) {
    return literal.substr(1, literal.size() - 2);
}

std::string decode_body(std::string_view body) {
    std::string out;
    out.reserve(body.size());
    const char* p = body.data();
    const char* const end = p + body.size();
    char unit[4];
    while (p != end) out.append(unit, decode_next(p, unit));
    return out;
}

// Compares a validated key literal with a plain key without decoding into a buffer.
bool key_equals(std::string_view literal, std::string_view key) {
    const std::string_view body = literal_body(literal);
    if (body.find('\\') == std::string_view::npos) return body == key;  // the common case
    const char* p = body.data();
    const char* const end = p + body.size();
    std::size_t matched = 0;
    char unit[4];
    while (p != end) {
        const std::size_t n = decode_next(p, unit);
        if (key.size() - matched < n || std::memcmp(key.data() + matched, unit, n) != 0)
            return false;
        matched += n;
    }
    return matched == key.size();
}

// Walks JSON text once. Each scan function starts at the first byte of its construct and
// leaves the cursor just past it; on failure it records where and what was expected.
class Scanner {
public:
    Scanner(std::string_view text, int max_depth)
        : begin_(text.data()),
          p_(text.data()),
          end_(text.data() + text.size()),
          max_depth_(max_depth) {}

    // Exactly one value with optional surrounding whitespace.
    bool document() {
        skip_whitespace();
        return value(0) && at_end_after_whitespace();
    }

    // Exactly one object; on_member(key_literal, raw_value) runs for each top-level member.
    template <class OnMember>
    bool object_document(OnMember&& on_member) {
        skip_whitespace();
        if (p_ == end_ || *p_ != '{') return fail("expected '{'");
        return object(1, on_member) && at_end_after_whitespace();
    }

    // Exactly one array; on_element(raw_value) runs for each top-level element.
    template <class OnElement>
    bool array_document(OnElement&& on_element) {
        skip_whitespace();
        if (p_ == end_ || *p_ != '[') return fail("expected '['");
        return array(1, on_element) && at_end_after_whitespace();
    }

    // A string literal and nothing else, not even whitespace.
    bool string_literal() {
        if (p_ == end_ || *p_ != '"') return fail("expected '\"'");
        return string() && (p_ == end_ || fail("expected end of text"));
    }

    // "at byte 12: expected ':'", for Error::detail.
    std::string failure() const {
        std::string out = "at byte ";
        out += std::to_string(failed_at_);
        out += ": ";
        out += failure_;
        if (failure_ == kTooDeep) out += std::to_string(max_depth_);
        return out;
    }

    std::size_t failed_at() const { return failed_at_; }

private:
    static constexpr std::string_view kTooDeep = "expected nesting no deeper than ";

    bool fail(std::string_view what) {
        failed_at_ = static_cast<std::size_t>(p_ - begin_);
        failure_ = what;
        return false;
    }

    void skip_whitespace() {
        while (p_ != end_ && is_whitespace(*p_)) ++p_;
    }

    bool consume(char c) {
        if (p_ == end_ || *p_ != c) return false;
        ++p_;
        return true;
    }

    bool at_end_after_whitespace() {
        skip_whitespace();
        return p_ == end_ || fail("expected end of text");
    }

    // depth counts the arrays and objects that enclose this value.
    bool value(int depth) {
        if (p_ == end_) return fail("expected a value");
        switch (*p_) {
            case '{':
                return object(depth + 1, [](std::string_view, std::string_view) {});
            case '[':
                return array(depth + 1, [](std::string_view) {});
            case '"':
                return string();
            case 't':
                return word("true");
            case 'f':
                return word("false");
            case 'n':
                return word("null");
            default:
                return number();
        }
    }

    template <class OnMember>
    bool object(int depth, OnMember&& on_member) {
        if (depth > max_depth_) return fail(kTooDeep);
        ++p_;  // '{'
        skip_whitespace();
        if (consume('}')) return true;
        for (;;) {
            const char* const key = p_;
            if (p_ == end_ || *p_ != '"') return fail("expected a string key");
            if (!string()) return false;
            const std::string_view key_literal(key, static_cast<std::size_t>(p_ - key));
            skip_whitespace();
            if (!consume(':')) return fail("expected ':'");
            skip_whitespace();
            const char* const raw = p_;
            if (!value(depth)) return false;
            on_member(key_literal, std::string_view(raw, static_cast<std::size_t>(p_ - raw)));
            skip_whitespace();
            if (consume('}')) return true;
            if (!consume(',')) return fail("expected ',' or '}'");
            skip_whitespace();  // a '}' here (trailing comma) fails as "expected a string key"
        }
    }

    template <class OnElement>
    bool array(int depth, OnElement&& on_element) {
        if (depth > max_depth_) return fail(kTooDeep);
        ++p_;  // '['
        skip_whitespace();
        if (consume(']')) return true;
        for (;;) {
            const char* const raw = p_;
            if (!value(depth)) return false;
            on_element(std::string_view(raw, static_cast<std::size_t>(p_ - raw)));
            skip_whitespace();
            if (consume(']')) return true;
            if (!consume(',')) return fail("expected ',' or ']'");
            skip_whitespace();
        }
    }

    bool word(std::string_view w) {
        if (static_cast<std::size_t>(end_ - p_) < w.size() ||
            std::memcmp(p_, w.data(), w.size()) != 0)
            return fail("expected a value");
        p_ += w.size();
        return true;
    }

    // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    bool number() {
        const bool negative = consume('-');
        if (p_ == end_ || !is_digit(*p_))
            return fail(negative ? "expected a digit after '-'" : "expected a value");
        if (!consume('0')) skip_digits();  // no leading zeros: "01" stops after the 0
        if (consume('.') && !skip_digits()) return fail("expected a digit after '.'");
        if (consume('e') || consume('E')) {
            if (!consume('+')) consume('-');
            if (!skip_digits()) return fail("expected a digit in the exponent");
        }
        return true;
    }

    // Skips [0-9]*; true when there was at least one digit.
    bool skip_digits() {
        const char* const start = p_;
        while (p_ != end_ && is_digit(*p_)) ++p_;
        return p_ != start;
    }

    bool string() {
        ++p_;  // opening '"'
        for (;;) {
            p_ = skip_plain(p_, end_);
            if (p_ == end_) return fail("expected '\"' to close the string");
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                ++p_;
                return true;
            }
            if (c == '\\') {
                if (!escape()) return false;
            } else if (c < 0x20) {
                return fail("expected an escape instead of a raw control character");
            } else {
                const std::size_t length = utf8_sequence_length(p_, end_);
                if (length == 0) return fail("expected valid UTF-8");
                p_ += length;
            }
        }
    }

    bool escape() {
        ++p_;  // '\'
        if (p_ == end_) return fail("expected an escape character");
        switch (*p_) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                ++p_;
                return true;
            case 'u':
                return unicode_escape();
            default:
                return fail("expected one of \" \\ / b f n r t u after '\\'");
        }
    }

    // \uXXXX, where a high surrogate must be followed by an escaped low surrogate: lone
    // surrogates are not Unicode text and cannot become UTF-8 when decoded.
    bool unicode_escape() {
        ++p_;  // 'u'
        std::uint32_t unit = 0;
        if (end_ - p_ < 4 || !read_hex4(p_, unit)) return fail("expected 4 hex digits after \\u");
        if (is_low_surrogate(unit)) return fail("expected a code point, not a lone low surrogate");
        p_ += 4;
        if (!is_high_surrogate(unit)) return true;
        std::uint32_t low = 0;
        const bool paired = end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u' &&
                            read_hex4(p_ + 2, low) && is_low_surrogate(low);
        if (!paired) return fail("expected \\uDC00..\\uDFFF after a high surrogate");
        p_ += 6;
        return true;
    }

    const char* begin_;          // start of the text, for offsets in failure()
    const char* p_;              // the cursor
    const char* end_;            // one past the last byte
    int max_depth_;              // deepest array/object nesting accepted
    std::size_t failed_at_ = 0;  // byte offset of the first failure
    std::string_view failure_;   // what was expected there
};

}  // namespace

bool is_valid(std::string_view text, int max_depth) {
    return Scanner(text, max_depth).document();
}

std::optional<Failure> first_failure(std::string_view text, int max_depth) {
    Scanner scanner(text, max_depth);
    if (scanner.document()) return std::nullopt;
    std::string what = scanner.failure();  // "at byte N: expected ..."
    what.erase(0, what.find(": ") + 2);
    return Failure{scanner.failed_at(), std::move(what)};
}

std::vector<std::pair<std::string, std::string_view>> ObjectView::members() const {
    std::vector<std::pair<std::string, std::string_view>> out;
    out.reserve(members_.size());
    for (const auto& [literal, value] : members_)
        out.emplace_back(decode_body(literal_body(literal)), value);
    return out;
}

Result<ObjectView> ObjectView::parse(std::string_view text) {
    ObjectView view;
    view.members_.reserve(8);  // frames have a handful of members
    Scanner scanner(text, kMaxDepth);
    const bool ok = scanner.object_document([&view](std::string_view key, std::string_view value) {
        view.members_.emplace_back(key, value);
    });
    if (!ok) return make_error(Errc::bad_json, scanner.failure());
    return view;
}

Result<std::vector<std::string_view>> array_elements(std::string_view text) {
    std::vector<std::string_view> out;
    Scanner scanner(text, kMaxDepth);
    if (!scanner.array_document([&out](std::string_view element) { out.push_back(element); }))
        return make_error(Errc::bad_json, scanner.failure());
    return out;
}

std::optional<std::string_view> ObjectView::raw(std::string_view key) const {
    for (const auto& [literal, value] : members_)
        if (key_equals(literal, key)) return value;
    return std::nullopt;
}

std::optional<std::string> ObjectView::string(std::string_view key) const {
    const auto value = raw(key);
    if (!value || value->front() != '"') return std::nullopt;
    return decode_body(literal_body(*value));  // validated by parse()
}

std::optional<std::int64_t> ObjectView::integer(std::string_view key) const {
    const auto value = raw(key);
    if (!value || value->find_first_of(".eE") != std::string_view::npos) return std::nullopt;
    std::int64_t out = 0;
    const char* const end = value->data() + value->size();
    const auto [ptr, ec] = std::from_chars(value->data(), end, out);  // fails on overflow
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    return out;
}

std::optional<bool> ObjectView::boolean(std::string_view key) const {
    const auto value = raw(key);
    if (value == "true") return true;
    if (value == "false") return false;
    return std::nullopt;
}

void append_quoted(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    const char* p = s.data();
    const char* const end = p + s.size();
    while (p != end) {
        const char* const run = p;
        p = skip_plain(p, end);
        out.append(run, static_cast<std::size_t>(p - run));
        if (p == end) break;
        const auto c = static_cast<unsigned char>(*p);
        if (c >= 0x80) {
            // Invalid UTF-8 becomes U+FFFD: the output goes into WebSocket text frames,
            // which a browser drops the whole connection over if they are not UTF-8.
            const std::size_t length = utf8_sequence_length(p, end);
            if (length == 0)
                out += "\xEF\xBF\xBD";
            else
                out.append(p, length);
            p += length == 0 ? 1 : length;
            continue;
        }
        ++p;
        out += '\\';
        switch (c) {
            case '"':
                out += '"';
                break;
            case '\\':
                out += '\\';
                break;
            case '\b':
                out += 'b';
                break;
            case '\f':
                out += 'f';
                break;
            case '\n':
                out += 'n';
                break;
            case '\r':
                out += 'r';
                break;
            case '\t':
                out += 't';
                break;
            default:
                out += "u00";
                out += kHex[c >> 4];
                out += kHex[c & 0xF];
        }
    }
    out += '"';
}

std::string quote(std::string_view s) {
    std::string out;
    append_quoted(out, s);
    return out;
}

std::optional<std::string> unquote(std::string_view literal) {
    if (!Scanner(literal, kMaxDepth).string_literal()) return std::nullopt;
    return decode_body(literal_body(literal));
}

}  // namespace adashta::json
