// Per-queue settings of the edge's durable streams (retention, size limits, visibility
// timeout, delay, maximum receive count and dead-letter queue), how to check them, and the
// config file that sets them at start.
//
//   auto queues = load_queue_settings("adashta.json");  // {"queues": {"orders": {...}}}
//   if (!queues) return queues.error();                   // bad_option, names file and key
//   for (const auto& [name, settings] : *queues) (void)streams.set_settings(name, settings);
//
// The config file is JSON. Every key is optional; an omitted key keeps the default below.
//
//   {"queues": {
//      "orders": {"retention": "7d", "visibility": "30s", "delay": "0", "maxReceive": 5,
//                 "deadLetter": "orders.dead", "maxMessages": 100000,
//                 "maxMessageBytes": 65536, "clientSchedule": true},
//      "chat":   {"retention": "1h"},
//      "ticks":  {"durable": false}}}
//
// A queue with "durable": false is at most once: the edge stores nothing of it and hands each
// message straight to its receivers (a server node, or the clients online now). No retention,
// resume, fetch, redelivery or scheduling, so the keys for those are refused with it; only
// maxMessageBytes applies. The store never hears of such a queue.
//
// Durations (retention, visibility, delay) are whole milliseconds (30000) or strings with
// units: "250ms", "30s", "5m", "2h", "7d", or several at once, "1h30m".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "adashta/result.hpp"

namespace adashta::store {

inline constexpr std::int64_t kSecondMs = 1000;
inline constexpr std::int64_t kMinuteMs = 60 * kSecondMs;
inline constexpr std::int64_t kHourMs = 60 * kMinuteMs;
inline constexpr std::int64_t kDayMs = 24 * kHourMs;

struct QueueSettings {
    // Limits that validate() enforces. Times beyond them are bad_timeout, the rest bad_option.
    static constexpr std::int64_t kMaxRetentionMs = 365 * kDayMs;
    static constexpr std::int64_t kMaxVisibilityMs = 12 * kHourMs;  // as in SQS and RSMQ
    static constexpr std::int64_t kMaxDelayMs = 365 * kDayMs;
    static constexpr std::int64_t kMaxMessageBytesLimit = 64LL * 1024 * 1024;

    std::int64_t retention_ms = kDayMs;           // how long a message is kept, 1 ms .. 365 d
    std::int64_t max_messages = 1'000'000;        // messages kept per queue; oldest go first
    std::int64_t max_message_bytes = 1 << 20;     // largest data accepted, 1 .. 64 MiB
    std::int64_t max_bytes = 0;  // data kept per queue, oldest go first; 0 = no limit, else
                                 // at least max_message_bytes (so the newest message fits)
    std::int64_t visibility_ms = 30 * kSecondMs;  // hidden after a delivery, 0 .. 12 h
    std::int64_t delay_ms = 0;                    // default delay of new messages, 0 .. 365 d
    std::int64_t max_receive = 0;                 // deliveries before dead-lettering; 0 = no limit
    std::string dead_letter;                      // where messages go after max_receive; "" = drop
    bool client_schedule = false;                 // clients may send delay / deliverAt
    bool durable = true;  // false: at most once, nothing stored (see the top of this file)

    // Checks every field against the limits above, and that dead_letter is a valid queue
    // name, is not `queue` itself, and comes with a max_receive. The error detail starts with
    // the config-file key ("visibility: 13h is more than the maximum of 12h"). A queue that
    // is not durable refuses a delay, clientSchedule, maxReceive and deadLetter.
    Status validate(std::string_view queue = {}) const;

    friend bool operator==(const QueueSettings&, const QueueSettings&) = default;
};

// "250", "250ms", "30s", "5m", "2h", "7d", "1h30m" -> milliseconds (a bare number is ms).
// bad_timeout for negative or overflowing values, bad_option for anything else that is not
// a duration; the detail quotes the text and says what is accepted.
Result<std::int64_t> parse_duration_ms(std::string_view text);

// The shortest text parse_duration_ms reads back as ms: 0 -> "0", 90000 -> "1m30s",
// 1500 -> "1s500ms". For messages and listings.
std::string format_duration(std::int64_t ms);

// Reads one queue's settings object, in the config file's keys, on top of `base`, and
// validates the result for `queue`. Unknown keys, values of the wrong type and values out
// of range fail with bad_option; the detail starts with `where` (e.g. "adashta.json:
// queues.orders") and names the key.
Result<QueueSettings> parse_queue_settings(std::string_view object_json,
                                           const QueueSettings& base = {},
                                           std::string_view queue = {},
                                           std::string_view where = {});

// The settings as a JSON object in the config file's keys, durations in milliseconds;
// parse_queue_settings reads it back to the same settings.
std::string to_json(const QueueSettings& settings);

// Reads the "queues" of the config file at `path`: {"queues": {"<name>": {<settings>}, ...}}.
// Other top-level keys belong to the program that reads the file (the edge's flags and
// "auth", checked by `adashta edge`) and are left alone. Every error is
// bad_option with a detail that names the file and the key ("adashta.json:
// queues.orders.visibility: ..."); a missing file says so and shows a minimal example.
Result<std::map<std::string, QueueSettings>> load_queue_settings(const std::string& path);

}  // namespace adashta::store
