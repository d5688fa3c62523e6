// The browser protocol (docs/protocol.md section 1): client frames in, edge frames out.
// Parsing never builds a tree; produce data stays a view into the frame text.
//
//   auto parsed = parse_client_frame(text);
//   if (auto* bad = std::get_if<FrameError>(&parsed)) encode_error(out, bad->ref, bad->error.code);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::edge {

enum class FrameType { hello, produce, consume, unconsume, fetch, ping, refresh };

struct ClientFrame {
    FrameType type = FrameType::ping;
    std::optional<std::uint64_t> ref;  // echoed in the answer; absent when the client sent none
    std::string session;               // hello: the session to resume, empty for a new one
    std::string secret;                // hello: the resume secret the edge gave session
    std::string token;                 // hello, refresh: the connection token (JWT), if any
    std::string queue;                 // produce, consume, unconsume, fetch
    std::string_view data;             // produce: raw JSON text of "data", a view into the frame
    std::string id;                    // produce: the client's id for the message, so that a
                                       // produce sent again after a lost ack is stored once
    std::int64_t delay_ms = 0;         // produce: hold it this long ("delay")
    std::int64_t deliver_at_ms = 0;    // produce: hold it until then ("deliverAt", ms epoch)
    std::optional<std::int64_t> from;  // consume: first offset wanted (resume); fetch: first offset
    std::optional<std::int64_t> since_ms;  // fetch: messages created at or after (ms epoch)
    std::int64_t limit = 100;              // fetch: at most this many (1 to kMaxFetch)
};

inline constexpr std::int64_t kMaxFetch = 1000;
inline constexpr std::int64_t kMaxDelayMs = 365LL * 24 * 3600 * 1000;  // a year

// One stored message in a fetch answer.
struct FetchedMessage {
    std::string_view id;
    std::int64_t offset = 0;
    std::string_view data;  // JSON text
    std::int64_t ts_ms = 0;
};

struct FrameError {
    Error error;                       // bad_json, bad_frame, unknown_type, bad_queue, bad_session
    std::optional<std::uint64_t> ref;  // the frame's ref when it could be read, for the answer
};

// Reads one text frame. Rules: the frame is a JSON object with a string "type"; "ref", when
// present, is a non-negative integer (else bad_frame); produce needs "queue" and "data";
// consume and unconsume need "queue"; queue names follow is_valid_queue_name (else bad_queue);
// hello's "session", when present and not null, must pass is_valid_session_id (else bad_session);
// hello's "secret" and "token", and refresh's "token" (required), are strings when present.
std::variant<ClientFrame, FrameError> parse_client_frame(std::string_view text);

// Encoders append one complete JSON frame to out.
// secret: the session's resume secret; user: the token's sub (left out when empty);
// expires_s: the token's exp (left out when 0).
void encode_welcome(std::string& out, std::string_view session, bool resumed,
                    std::size_t max_frame, std::string_view secret = {},
                    std::string_view user = {}, std::int64_t expires_s = 0);
// next > 0 (an ack to consume): the offset the queue's next message will get.
void encode_ack(std::string& out, std::uint64_t ref, std::string_view message_id = {},
                std::int64_t next = 0);
void encode_error(std::string& out, std::optional<std::uint64_t> ref, Errc code,
                  std::string_view detail = {});
// offset 0 (a message that was not stored) leaves "offset" out.
void encode_message(std::string& out, std::string_view queue, std::string_view message_id,
                    std::string_view data_json, std::int64_t ts_ms, std::int64_t offset = 0);
// Messages [from, to] of queue are gone (retention) and will not come.
void encode_gap(std::string& out, std::string_view queue, std::int64_t from, std::int64_t to);
// The answer to fetch: messages in offset order, and the offset to fetch from next.
void encode_fetched(std::string& out, std::uint64_t ref, std::string_view queue,
                    const std::vector<FetchedMessage>& messages, std::int64_t next);
void encode_pong(std::string& out, std::uint64_t ref);

}  // namespace adashta::edge
