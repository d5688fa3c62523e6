// A stream parser for what a NATS server sends (INFO, MSG, PING, PONG, +OK, -ERR). Bytes
// arrive in pieces that split lines and payloads anywhere; append() them, then take events
// with next() until it returns false, then compact().
//
//   reader.append(data, size);
//   NatsEvent ev;
//   while (reader.next(ev)) handle(ev);   // views stay valid until the next append/compact
//   reader.compact();
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

enum class NatsOp { info, msg, ping, pong, ok, err, unknown };

struct NatsEvent {
    NatsOp op = NatsOp::unknown;
    std::string_view line;     // the protocol line without CRLF (INFO/-ERR text, for logs)
    std::string_view subject;  // MSG: subject
    std::string_view reply;    // MSG: reply subject, empty if none
    std::string_view payload;  // MSG: payload bytes
};

class NatsReader {
public:
    void append(const char* data, std::size_t size);

    // Takes the next complete event. false: nothing complete is buffered.
    bool next(NatsEvent& event);

    // Drops consumed bytes (invalidates the views of earlier events).
    void compact();

    std::size_t buffered() const { return buffer_.size() - read_; }

private:
    std::string buffer_;    // bytes received and not yet compacted
    std::size_t read_ = 0;  // start of the first unconsumed event in buffer_
};
