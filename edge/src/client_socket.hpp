// One connection of the browser listener, over libwebsockets' raw socket role: lws accepts,
// does TLS and tells the edge when bytes came and when the socket can take more; everything
// above TCP is the edge's own. A connection starts as HTTP/1.1 (http_request.hpp: requests
// with keep-alive, one at a time) and may become a WebSocket (ws_frames.hpp).
//
// It hands requests, whole messages and its turns to write to a SocketHandler (HttpServer),
// and does the rest itself: the 101 handshake, a pong for every ping in the order they came,
// the close handshake (our close goes out after what the handler still had to write; then
// the connection reads on, dropping data, until the client's close arrives, the client ends
// TCP, or kCloseWait passes; a client's close is answered with its code and TCP is ended),
// HTTP answers and files, and the lingering close after an HTTP error (the answer, then FIN,
// then what the client still sends is read and dropped, so that no reset overtakes the answer).
//
// Owned by the HTTP thread, like every lws callback; made at LWS_CALLBACK_RAW_ADOPT and
// deleted at LWS_CALLBACK_RAW_CLOSE.
//
//   auto* socket = new ClientSocket{wsi, handler, now};      // RAW_ADOPT
//   return socket->receive(in, len);                         // RAW_RX
//   return socket->writeable();                              // RAW_WRITEABLE
//   socket->closed(); delete socket;                         // RAW_CLOSE
//   // in the handler: socket.respond(200, "text/plain", "ok\n");
//   //                 socket.upgrade(ClientSocket::Route::browser, max_frame, "");
//   //                 while (!socket.choked()) socket.write_message(frame, ws::Opcode::text);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http_request.hpp"
#include "ws_frames.hpp"

struct lws;

namespace adashta::edge {

class ClientSocket;

// The server side of a ClientSocket. Every call comes from inside one of the socket's lws
// callbacks, on the HTTP thread.
class SocketHandler {
public:
    // A request head arrived (with its body, when max_body allowed one). The handler answers
    // it once: respond(), respond_file() or upgrade() (which may refuse with an answer), or
    // defer_answer() and respond() later.
    virtual void on_request(ClientSocket& socket, const HttpRequest& request) = 0;
    // The largest body the socket reads for a request whose head arrived, before
    // on_request; 0 (the default): none is read (on_request sees only the head).
    virtual std::size_t max_body(const HttpRequest& /*request*/) { return 0; }
    // A whole WebSocket message (text is valid UTF-8).
    virtual void on_message(ClientSocket& socket, bool binary, std::string_view payload) = 0;
    // The WebSocket is closing with code: the client sent its close (code is its code), or
    // broke the protocol (failure: 1002, 1007, 1008, 1009). No more messages come; what the
    // handler still writes goes out before the close.
    virtual void on_closing(ClientSocket& socket, std::uint16_t code, bool failure) = 0;
    // The WebSocket can take frames: the handler writes with write_message() while !choked()
    // and returns true when nothing of its own waits (then a pending close may go out).
    virtual bool on_writeable(ClientSocket& socket) = 0;
    // An upgraded socket is gone (not called for plain HTTP ones).
    virtual void on_closed(ClientSocket& socket) = 0;

protected:
    ~SocketHandler() = default;
};

class ClientSocket {
public:
    using Clock = std::chrono::steady_clock;
    // Which WebSocket endpoint an upgraded socket serves; its serial is that endpoint's.
    enum class Route : std::uint8_t { none, browser, admin, echo };

    // How long our close waits for the client's, and an HTTP error's lingering close.
    static constexpr int kCloseWaitSeconds = 5;
    // An idle WebSocket is pinged after this much silence, and dropped after kIdleDrop;
    // the clock stands still while the edge itself keeps from reading it (pause_reading).
    static constexpr std::chrono::seconds kIdlePing{30};
    static constexpr std::chrono::seconds kIdleDrop{45};
    // Pongs a client has not read (it pings and does not read) before it is closed 1008.
    static constexpr std::size_t kMaxPongBytes = 64 << 10;

    ClientSocket(lws* wsi, SocketHandler& handler, Clock::time_point now);
    ClientSocket(const ClientSocket&) = delete;
    ClientSocket& operator=(const ClientSocket&) = delete;

    // The lws callbacks' work; each returns what the callback returns (-1: close now).
    int receive(char* data, std::size_t size);
    int writeable();
    void closed();  // RAW_CLOSE: tells the handler when upgraded

    // --- HTTP: one answer per request ---------------------------------------------------------
    // Answers with body (not sent for HEAD). extra_headers: whole lines, each ending in \r\n.
    // close: the connection ends after the answer (else it follows the request's keep-alive).
    void respond(int status, std::string_view content_type, std::string_view body,
                 std::string_view extra_headers = {}, bool close = false);
    // Answers 200 with the file at path; false when it cannot be opened (nothing was sent).
    bool respond_file(const std::string& path, std::string_view content_type);
    // The answer comes later, from outside the socket's callbacks (on the HTTP thread):
    // respond() then. Until it does, the requests after this one wait unread, and the
    // request-head timeout does not run.
    void defer_answer();
    bool answer_deferred() const { return http_ && http_->deferred; }
    // Accepts the WebSocket the request asked for (its key was checked by the caller with
    // websocket_key_valid): writes the 101, and frames are read from here on, messages of at
    // most max_message bytes (1009 past it). subprotocol: echoed when not empty.
    void upgrade(Route route, std::size_t max_message, std::string_view subprotocol = {});
    static bool websocket_key_valid(const HttpRequest& request);

    // --- WebSocket ----------------------------------------------------------------------------
    // Writes a whole message whose payload follows LWS_PRE spare bytes at the start of frame
    // (its header goes into them). False: the socket failed (it closes).
    bool write_message(std::string& frame, ws::Opcode opcode);
    bool choked() const;              // the socket takes nothing more now
    void request_writeable();         // on_writeable() soon
    // Closes the WebSocket with code and reason, after what the handler still writes.
    void close(std::uint16_t code, std::string_view reason);
    // Stops or resumes reading (lws_rx_flow_control); reading resumes anyway for the close.
    void pause_reading(bool pause);

    // Once a second: pings an idle WebSocket, drops a dead one, ends an HTTP request head
    // that takes too long (http_limits.hpp) and a kept-alive connection idle as long.
    void sweep(Clock::time_point now);

    lws* wsi() const { return wsi_; }
    bool tls() const { return tls_; }
    bool upgraded() const { return route_ != Route::none; }
    Route route() const { return route_; }
    std::uint64_t serial = 0;  // the route's id for this connection, set by the handler
    // Unique among every socket of the process (a deferred answer checks it still has the
    // socket it was for, not a new one at the same address).
    std::uint64_t id() const { return id_; }

private:
    struct Events;
    int take(char* data, std::size_t size);  // bytes read, in whichever phase
    int take_frames(char* data, std::size_t size);
    void serve_request(char*& data, std::size_t& size);
    void fail(std::uint16_t code, std::string_view reason);  // a WebSocket protocol failure
    int write_http();        // the answer's rest; -1 when the connection ends after it
    int finish_answer();     // the answer is out: the next request, or the end
    int write_websocket();
    bool write_raw(const char* data, std::size_t size);
    void kill();             // ends the connection from outside a callback

    lws* wsi_;
    SocketHandler& handler_;
    const std::uint64_t id_;
    bool tls_ = false;               // known from the first bytes read (receive())
    bool read_before_ = false;
    Route route_ = Route::none;
    bool broken_ = false;            // a write failed: close at the next callback
    Clock::time_point last_read_;    // WebSocket: for the idle ping and drop

    // HTTP (before an upgrade): let go of at the upgrade, so that a WebSocket costs none of it.
    struct Http {
        explicit Http(Clock::time_point now) : waiting_since(now) {}
        HttpRequestParser parser{{.max_request_line = kMaxRequestUri + 64,
                                  .max_header_bytes = kMaxHeaderBytes}};
        Clock::time_point waiting_since;  // since the socket waits for a request head
        bool answering = false;    // an answer is being written; requests wait in pending
        bool deferred = false;     // answering, but the answer is not there yet (defer_answer)
        bool head_only = false;    // the request was HEAD
        bool close_after = false;  // the connection ends after this answer
        bool lingering = false;    // answered and FIN sent: reads are dropped until EOF
        std::string pending;       // bytes of requests after the one being answered
        std::string answer;        // LWS_PRE, then the answer's head (and body) to write
        int file = -1;             // the file being sent, or -1
        std::uint64_t file_left = 0;  // its bytes still to send
    };
    std::unique_ptr<Http> http_;   // null once upgraded

    // WebSocket (after the upgrade).
    std::unique_ptr<ws::Decoder> decoder_;
    std::string control_;            // pong (and idle ping) frames to write, in order
    std::uint16_t close_code_ = 0;   // nonzero: the close to send after the handler's frames
    std::string close_reason_;
    bool close_sent_ = false;        // ours is out: waiting for the client's
    bool peer_closed_ = false;       // the client's close came
    bool failed_ = false;            // closing for a protocol failure: input is not read
    bool pinged_ = false;            // an idle ping is out, no answer yet
    bool reading_paused_ = false;    // by pause_reading()
};

}  // namespace adashta::edge
