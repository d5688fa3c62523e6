// The conformance-test echo WebSocket (--test-echo-path PATH; off unless given, and for
// conformance tests only: docs/operations.md). It answers every text and binary message with
// the same message, so the Autobahn cases (tests/autobahn/) test this edge's WebSocket
// handling: the same libwebsockets context, protocol, piece size, UTF-8 checks and close
// checks as /ws, and --max-frame as the largest message (1009 past it). No session, no
// browser protocol, not counted in /healthz.
//
// Owned by the edge's HTTP thread, like every connection.
//
//   EchoSockets echo{options.max_frame, options.max_outbox};
//   serial = echo.open(wsi);                        // LWS_CALLBACK_ESTABLISHED on PATH
//   return echo.receive(serial, wsi, in, len);      // LWS_CALLBACK_RECEIVE
//   return echo.writeable(serial, wsi);             // LWS_CALLBACK_SERVER_WRITEABLE
//   echo.closed(serial);                            // LWS_CALLBACK_CLOSED
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

struct lws;

namespace adashta::edge {

class EchoSockets {
public:
    // max_message: the largest message taken (--max-frame); max_queued: the echoes held for a
    // client that reads slowly before its socket is read no further (--max-outbox).
    EchoSockets(std::size_t max_message, std::size_t max_queued)
        : max_message_(max_message), max_queued_(max_queued) {}

    std::uint64_t open(lws* wsi);  // returns the connection's serial for the calls below
    // A piece of a message; the whole message is echoed once its last piece is in. The lws
    // callback's return value: -1 (with close code 1009) for a message over max_message.
    int receive(std::uint64_t serial, lws* wsi, const char* in, std::size_t len);
    // Writes the echoes the socket takes; the lws callback's return value.
    int writeable(std::uint64_t serial, lws* wsi);
    void closed(std::uint64_t serial);
    std::size_t connections() const { return conns_.size(); }

private:
    struct Echo {
        std::string bytes;  // LWS_PRE spare bytes, then the message
        bool binary;        // a binary message, else text
    };
    struct Conn {
        std::string rx;            // the message arriving in pieces
        bool rx_binary = false;    // its type, from its first frame
        std::deque<Echo> out;      // echoes not yet written, oldest first
        std::size_t out_bytes = 0; // their payload bytes
        bool paused = false;       // reading stopped until out drains
    };

    std::size_t max_message_;
    std::size_t max_queued_;
    std::unordered_map<std::uint64_t, Conn> conns_;  // by serial
    std::uint64_t next_serial_ = 1;
};

}  // namespace adashta::edge
