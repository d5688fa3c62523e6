// The conformance-test echo WebSocket (--test-echo-path PATH; off unless given, and for
// conformance tests only: docs/operations.md). It answers every text and binary message with
// the same message, so the Autobahn cases (tests/autobahn/) test this edge's WebSocket
// handling: the same transport (client_socket.hpp), decoder, UTF-8 and close checks as /ws,
// and --max-frame as the largest message (1009 past it). No session, no browser protocol,
// not counted in /healthz.
//
// Owned by the edge's HTTP thread, like every connection.
//
//   EchoSockets echo{options.max_frame, options.max_outbox};
//   serial = echo.open(socket);                     // a WebSocket upgraded on PATH
//   echo.receive(serial, socket, binary, message);  // SocketHandler::on_message
//   return echo.writeable(serial, socket);          // SocketHandler::on_writeable
//   echo.closed(serial);                            // SocketHandler::on_closed
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "client_socket.hpp"

namespace adashta::edge {

class EchoSockets {
public:
    // max_message: the largest message taken (--max-frame); max_queued: the echoes held for a
    // client that reads slowly before its socket is read no further (--max-outbox).
    EchoSockets(std::size_t max_message, std::size_t max_queued)
        : max_message_(max_message), max_queued_(max_queued) {}

    std::size_t max_message() const { return max_message_; }
    std::uint64_t open(ClientSocket& socket);  // returns the connection's serial
    // A whole message, echoed once the socket takes it.
    void receive(std::uint64_t serial, ClientSocket& socket, bool binary, std::string_view message);
    // Writes the echoes the socket takes; true when none waits.
    bool writeable(std::uint64_t serial, ClientSocket& socket);
    void closed(std::uint64_t serial);
    std::size_t connections() const { return conns_.size(); }

private:
    struct Echo {
        std::string bytes;  // LWS_PRE spare bytes, then the message
        bool binary;        // a binary message, else text
    };
    struct Conn {
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
