// Client frames are read through json::ObjectView, so a frame is scanned once and produce
// data is never copied; edge frames are written by hand in a fixed member order.
#include "protocol.hpp"

#include <array>
#include <cassert>
#include <charconv>
#include <limits>

#include "adashta/json.hpp"
#include "adashta/names.hpp"
#include "adashta/version.hpp"

namespace adashta::edge {
namespace {

// Client text echoed in an error detail is cut to this many bytes, so a huge bad field
// does not come back as a huge error frame.
constexpr std::size_t kMaxEcho = 64;

using Parsed = std::variant<ClientFrame, FrameError>;

FrameError frame_error(Errc code, std::string detail, std::optional<std::uint64_t> ref) {
    return FrameError{make_error(code, std::move(detail)), ref};
}

// Up to kMaxEcho bytes of s, cut on a UTF-8 character boundary.
std::string excerpt(std::string_view s) {
    if (s.size() <= kMaxEcho) return std::string(s);
    std::size_t cut = kMaxEcho;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
        --cut;  // continuation byte
    std::string out(s.substr(0, cut));
    out += "...";
    return out;
}

// A non-negative JSON integer literal that fits uint64, e.g. "7"; "-0" counts as 0.
std::optional<std::uint64_t> read_ref(std::string_view raw) {
    if (raw == "-0") return 0;
    std::uint64_t out = 0;
    const char* const end = raw.data() + raw.size();
    const auto [ptr, ec] = std::from_chars(raw.data(), end, out);  // rejects '-' and overflow
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    return out;
}

std::optional<FrameType> frame_type(std::string_view name) {
    if (name == "hello") return FrameType::hello;
    if (name == "produce") return FrameType::produce;
    if (name == "consume") return FrameType::consume;
    if (name == "unconsume") return FrameType::unconsume;
    if (name == "fetch") return FrameType::fetch;
    if (name == "ping") return FrameType::ping;
    if (name == "refresh") return FrameType::refresh;
    return std::nullopt;
}

// hello: "session" absent or null asks for a new session; anything else must be a valid id.
std::optional<FrameError> read_session(const json::ObjectView& obj, ClientFrame& frame) {
    const auto raw = obj.raw("session");
    if (!raw || *raw == "null") return std::nullopt;
    auto session = obj.string("session");
    if (!session) return frame_error(Errc::bad_session, "\"session\" must be a string", frame.ref);
    if (!is_valid_session_id(*session))
        return frame_error(Errc::bad_session, "\"session\" is \"" + excerpt(*session) + "\"",
                           frame.ref);
    frame.session = std::move(*session);
    return std::nullopt;
}

// An optional string member of at most max bytes (token, secret), into out.
std::optional<FrameError> read_text(const json::ObjectView& obj, std::string_view key,
                                    std::size_t max, Errc code, std::string& out,
                                    const ClientFrame& frame) {
    const auto raw = obj.raw(key);
    if (!raw || *raw == "null") return std::nullopt;
    auto text = obj.string(key);
    if (!text || text->size() > max)
        return frame_error(code,
                           std::string{"\""}.append(key) + "\" must be a string of at most " +
                               std::to_string(max) + " bytes",
                           frame.ref);
    out = std::move(*text);
    return std::nullopt;
}

constexpr std::size_t kMaxToken = 8192;
constexpr std::size_t kMaxSecret = 128;

std::optional<FrameError> read_hello(const json::ObjectView& obj, ClientFrame& frame) {
    if (auto bad = read_session(obj, frame)) return bad;
    if (auto bad = read_text(obj, "secret", kMaxSecret, Errc::bad_session, frame.secret, frame))
        return bad;
    return read_text(obj, "token", kMaxToken, Errc::token_invalid, frame.token, frame);
}

std::optional<FrameError> read_queue(const json::ObjectView& obj, ClientFrame& frame) {
    if (!obj.has("queue")) return frame_error(Errc::bad_frame, "\"queue\" is missing", frame.ref);
    auto queue = obj.string("queue");
    if (!queue) return frame_error(Errc::bad_frame, "\"queue\" must be a string", frame.ref);
    if (!is_valid_queue_name(*queue))
        return frame_error(Errc::bad_queue, "\"queue\" is \"" + excerpt(*queue) + "\"", frame.ref);
    frame.queue = std::move(*queue);
    return std::nullopt;
}

// An optional member that must be a whole number in [min, max] when present.
std::optional<FrameError> read_integer(const json::ObjectView& obj, std::string_view key,
                                       std::int64_t min, std::int64_t max, Errc code,
                                       std::optional<std::int64_t>& out, const ClientFrame& frame) {
    const auto raw = obj.raw(key);
    if (!raw || *raw == "null") return std::nullopt;
    const auto value = obj.integer(key);
    if (!value || *value < min || *value > max)
        return frame_error(code,
                           std::string{"\""}.append(key) + "\" must be a whole number from " +
                               std::to_string(min) + " to " + std::to_string(max),
                           frame.ref);
    out = value;
    return std::nullopt;
}

std::optional<FrameError> read_schedule(const json::ObjectView& obj, ClientFrame& frame) {
    std::optional<std::int64_t> delay;
    std::optional<std::int64_t> at;
    if (auto bad = read_integer(obj, "delay", 0, kMaxDelayMs, Errc::bad_timeout, delay, frame))
        return bad;
    if (auto bad = read_integer(obj, "deliverAt", 0, std::numeric_limits<std::int64_t>::max(),
                                Errc::bad_timeout, at, frame))
        return bad;
    if (delay && at)
        return frame_error(Errc::bad_frame, "give \"delay\" or \"deliverAt\", not both", frame.ref);
    frame.delay_ms = delay.value_or(0);
    frame.deliver_at_ms = at.value_or(0);
    return std::nullopt;
}

std::optional<FrameError> read_fetch(const json::ObjectView& obj, ClientFrame& frame) {
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    if (auto bad = read_integer(obj, "from", 0, kMax, Errc::bad_frame, frame.from, frame))
        return bad;
    if (auto bad = read_integer(obj, "since", 0, kMax, Errc::bad_frame, frame.since_ms, frame))
        return bad;
    if (frame.from && frame.since_ms)
        return frame_error(Errc::bad_frame, "give \"from\" or \"since\", not both", frame.ref);
    std::optional<std::int64_t> limit;
    if (auto bad = read_integer(obj, "limit", 1, kMaxFetch, Errc::bad_frame, limit, frame))
        return bad;
    frame.limit = limit.value_or(100);
    return std::nullopt;
}

// Reads the fields each frame type needs, after type and ref are known.
std::optional<FrameError> read_fields(const json::ObjectView& obj, ClientFrame& frame) {
    switch (frame.type) {
        case FrameType::hello:
            return read_hello(obj, frame);
        case FrameType::refresh:
            if (auto bad = read_text(obj, "token", kMaxToken, Errc::token_invalid, frame.token, frame))
                return bad;
            if (frame.token.empty())
                return frame_error(Errc::bad_frame, "\"token\" is missing", frame.ref);
            return std::nullopt;
        case FrameType::produce: {
            if (auto bad = read_queue(obj, frame)) return bad;
            const auto data = obj.raw("data");
            if (!data) return frame_error(Errc::bad_frame, "\"data\" is missing", frame.ref);
            frame.data = *data;
            if (obj.has("id")) {
                auto id = obj.string("id");
                if (!id || !is_valid_message_id(*id))
                    return frame_error(Errc::bad_frame,
                                       "\"id\" must be 8 to 64 characters of A-Z a-z 0-9 _ -",
                                       frame.ref);
                frame.id = std::move(*id);
            }
            return read_schedule(obj, frame);
        }
        case FrameType::consume: {
            if (auto bad = read_queue(obj, frame)) return bad;
            return read_integer(obj, "from", 0, std::numeric_limits<std::int64_t>::max(),
                                Errc::bad_frame, frame.from, frame);
        }
        case FrameType::fetch:
            if (auto bad = read_queue(obj, frame)) return bad;
            return read_fetch(obj, frame);
        case FrameType::unconsume:
            return read_queue(obj, frame);
        case FrameType::ping:
            return std::nullopt;
    }
    return std::nullopt;
}

template <class Integer>
void append_number(std::string& out, Integer n) {
    std::array<char, 24> buf{};  // fits any 64-bit integer with its sign
    const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), n);
    out.append(buf.data(), result.ptr);
}

// Appends `,"name":` so each encoder reads as a list of members.
void append_key(std::string& out, std::string_view name) {
    out += ",\"";
    out += name;
    out += "\":";
}

}  // namespace

std::variant<ClientFrame, FrameError> parse_client_frame(std::string_view text) {
    const auto obj = json::ObjectView::parse(text);
    if (!obj) return FrameError{obj.error(), std::nullopt};

    // ref first, so that every later error can echo it.
    ClientFrame frame;
    if (const auto raw_ref = obj->raw("ref")) {
        frame.ref = read_ref(*raw_ref);
        if (!frame.ref)
            return frame_error(Errc::bad_frame, "\"ref\" must be a non-negative integer",
                               std::nullopt);
    }

    if (!obj->has("type")) return frame_error(Errc::bad_frame, "\"type\" is missing", frame.ref);
    const auto type_name = obj->string("type");
    if (!type_name) return frame_error(Errc::bad_frame, "\"type\" must be a string", frame.ref);
    const auto type = frame_type(*type_name);
    if (!type)
        return frame_error(Errc::unknown_type, "\"type\" is \"" + excerpt(*type_name) + "\"",
                           frame.ref);
    frame.type = *type;

    if (auto bad = read_fields(*obj, frame)) return std::move(*bad);
    return frame;
}

void encode_welcome(std::string& out, std::string_view session, bool resumed,
                    std::size_t max_frame, std::string_view secret, std::string_view user,
                    std::int64_t expires_s) {
    out += "{\"type\":\"welcome\"";
    append_key(out, "session");
    json::append_quoted(out, session);
    if (!secret.empty()) {
        append_key(out, "secret");
        json::append_quoted(out, secret);
    }
    if (!user.empty()) {
        append_key(out, "user");
        json::append_quoted(out, user);
    }
    if (expires_s > 0) {
        append_key(out, "expires");
        append_number(out, expires_s);
    }
    append_key(out, "resumed");
    out += resumed ? "true" : "false";
    append_key(out, "maxFrame");
    append_number(out, static_cast<std::uint64_t>(max_frame));
    append_key(out, "server");
    json::append_quoted(out, std::string{"adashta/"} + std::string{kVersion});
    out += '}';
}

void encode_ack(std::string& out, std::uint64_t ref, std::string_view message_id,
                std::int64_t next) {
    out += "{\"type\":\"ack\"";
    append_key(out, "ref");
    append_number(out, ref);
    if (next > 0) {
        append_key(out, "next");
        append_number(out, next);
    }
    if (!message_id.empty()) {
        append_key(out, "id");
        json::append_quoted(out, message_id);
    }
    out += '}';
}

void encode_error(std::string& out, std::optional<std::uint64_t> ref, Errc code,
                  std::string_view detail) {
    const ErrorInfo info = error_info(code);
    out += "{\"type\":\"error\"";
    if (ref) {
        append_key(out, "ref");
        append_number(out, *ref);
    }
    append_key(out, "code");
    append_number(out, static_cast<std::int64_t>(code));
    append_key(out, "name");
    json::append_quoted(out, info.name);
    append_key(out, "message");
    json::append_quoted(out, info.message);
    append_key(out, "hint");
    json::append_quoted(out, info.hint);
    if (!detail.empty()) {
        append_key(out, "detail");
        json::append_quoted(out, detail);
    }
    out += '}';
}

void encode_message(std::string& out, std::string_view queue, std::string_view message_id,
                    std::string_view data_json, std::int64_t ts_ms, std::int64_t offset) {
    // data_json is spliced in raw; whoever accepted it validated it (mesh or edge).
    assert(json::is_valid(data_json));
    out += "{\"type\":\"message\"";
    append_key(out, "queue");
    json::append_quoted(out, queue);
    append_key(out, "id");
    json::append_quoted(out, message_id);
    append_key(out, "data");
    out += data_json;
    append_key(out, "ts");
    append_number(out, ts_ms);
    if (offset > 0) {
        append_key(out, "offset");
        append_number(out, offset);
    }
    out += '}';
}

void encode_gap(std::string& out, std::string_view queue, std::int64_t from, std::int64_t to) {
    out += "{\"type\":\"gap\"";
    append_key(out, "queue");
    json::append_quoted(out, queue);
    append_key(out, "from");
    append_number(out, from);
    append_key(out, "to");
    append_number(out, to);
    out += '}';
}

void encode_fetched(std::string& out, std::uint64_t ref, std::string_view queue,
                    const std::vector<FetchedMessage>& messages, std::int64_t next) {
    out += "{\"type\":\"messages\"";
    append_key(out, "ref");
    append_number(out, ref);
    append_key(out, "queue");
    json::append_quoted(out, queue);
    append_key(out, "messages");
    out += '[';
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const FetchedMessage& m = messages[i];
        if (i) out += ',';
        out += "{\"id\":";
        json::append_quoted(out, m.id);
        append_key(out, "offset");
        append_number(out, m.offset);
        append_key(out, "data");
        out += m.data;
        append_key(out, "ts");
        append_number(out, m.ts_ms);
        out += '}';
    }
    out += ']';
    append_key(out, "next");
    append_number(out, next);
    out += '}';
}

void encode_pong(std::string& out, std::uint64_t ref) {
    out += "{\"type\":\"pong\"";
    append_key(out, "ref");
    append_number(out, ref);
    out += '}';
}

}  // namespace adashta::edge
