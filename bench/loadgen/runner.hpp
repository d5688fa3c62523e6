// Runner: one adashta-bench load run. One thread, one epoll loop; every socket is a Conn
// driven by a small state machine (TCP connect → HTTP upgrade → protocol handshake → ready).
// The scenario then writes load on the ready connections and records what comes back.
//
//   Runner runner(options, url);
//   return runner.run();   // prints the JSON lines on stdout, progress on stderr
//
// The phases: open every connection (at most 500 connects in flight, 15 s each to finish
// its handshake), then the scenario (ingress, reqrep, durable for --duration; idle holds for
// --hold), then the result line. Nothing here blocks; SIGINT/SIGTERM end the current phase.
// reqrep --phases N runs N load phases on the same connections: after each but the last it
// prints that phase's result as {"event":"phase_done",...} and waits (connections open, no
// load) for SIGUSR1 to start the next, so a runner can change the world in between (start a
// flood) and compare the phases.
#pragma once

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "histogram.hpp"
#include "nats_reader.hpp"
#include "options.hpp"
#include "url.hpp"
#include "ws_frame.hpp"

enum class ConnState : uint8_t { unopened, connecting, upgrading, handshaking, ready, closed };

// One client socket and everything it needs; owned by Runner::conns_.
struct Conn {
    int fd = -1;                            // socket, -1 when not open
    uint32_t index = 0;                     // position in conns_, epoll user data
    ConnState state = ConnState::unopened;  // where in its life the socket is
    uint8_t step = 0;                       // protocol handshake step (per protocol)
    bool write_armed = false;               // EPOLLOUT is registered
    bool dirty = false;                     // queued in Runner::dirty_ for a flush
    uint8_t fragment_opcode = 0;            // opcode of a message being reassembled
    uint32_t mask_state = 1;                // xorshift32 state for frame masks
    int64_t opened_ns = 0;                  // when connect() was called
    int64_t last_send_ns = 0;               // closed-loop reqrep: send time of the request
    uint64_t ingress_bytes = 0;             // ingress: bytes of the batch written
    std::size_t batch_offset = 0;           // ingress: where in the shared batch we are
    std::size_t out_offset = 0;             // bytes of out already written
    char key[24] = {};                      // Sec-WebSocket-Key sent
    std::string pending;                    // received bytes not yet parsed (partial frame)
    std::string fragments;                  // payload of a fragmented message so far
    std::string out;                        // framed bytes waiting for the socket
    NatsReader nats;                        // nats: the protocol stream inside the frames
    std::vector<uint64_t> slot_ref;         // durable: ref in flight per window slot
    std::vector<int64_t> slot_sent_ns;      // durable: its send time
    std::vector<uint32_t> free_slots;       // durable: slots with nothing in flight
    uint64_t next_ref_round = 1;            // durable: refs are round * window + slot
};

class Runner {
public:
    Runner(const BenchOptions& options, Url url);

    // Runs the whole scenario. Returns the exit code: 0 done, 1 when no connection could be
    // made (stderr says which server to start) or a NATS stream could not be created.
    int run();

private:
    // Phases.
    void connect_all();
    bool create_nats_stream();
    void run_ingress();
    void run_reqrep();
    void run_reqrep_phase();
    bool wait_next_phase();
    void run_durable();
    void hold_idle();

    // The loop.
    void poll_once(int64_t deadline_ns);
    void dispatch(Conn& c, uint32_t events);
    void open_next();
    void finish_connect(Conn& c);
    void expire_handshakes();
    void on_readable(Conn& c);
    void on_writable(Conn& c);
    std::size_t consume_input(Conn& c, char* data, std::size_t size);
    void on_frame(Conn& c, const WsFrame& frame);
    void on_close_frame(Conn& c, std::string_view payload);
    void start_protocol(Conn& c);
    void mark_ready(Conn& c);
    void fail(Conn& c, std::string_view reason);

    // Protocols: one message (a whole text/binary WebSocket message) each.
    void on_message(Conn& c, std::string_view message);
    void on_adashta_message(Conn& c, std::string_view message);
    void on_socketio_message(Conn& c, std::string_view message);
    void on_ws_message(Conn& c, std::string_view message);
    void on_nats_event(Conn& c, const NatsEvent& event);
    void on_nats_inbox(Conn& c, std::string_view subject, std::string_view payload);
    void note_protocol_error(std::string_view what);

    // Output.
    void send_message(Conn& c, std::string_view payload);
    void send_control(Conn& c, uint8_t opcode, std::string_view payload);
    bool write_out(Conn& c);
    void pump_ingress(Conn& c);
    void mark_dirty(Conn& c);
    void flush_dirty();
    void set_write_interest(Conn& c, bool on);

    // Scenario actions.
    void build_ingress_batch();
    void append_data(std::string& s, uint64_t seq) const;
    void send_request(Conn& c, uint64_t seq);
    void on_reply(Conn& c, uint64_t seq);
    Conn* next_request_conn(uint64_t seq);
    void fill_window(Conn& c);
    void on_durable_answer(Conn& c, uint64_t ref, bool ok);

    // Reporting.
    void print_progress(bool force);
    void print_result(double duration_s);
    uint64_t ingress_sent() const;
    uint64_t errors() const { return failed_connects_ + dropped_ + protocol_errors_; }

    const BenchOptions options_;
    std::string hello_;  // adashta: the hello frame every connection opens with (token or not)
    const Url url_;
    int epoll_fd_ = -1;
    bool have_epoll_pwait2_ = true;     // kernel/glibc offer nanosecond waits
    std::vector<Conn> conns_;           // every connection, by index
    std::vector<uint32_t> dirty_;       // connections with output to flush after this round
    std::vector<uint32_t> ready_list_;  // reqrep: round-robin order of ready connections
    std::vector<epoll_event> events_;   // epoll_wait output
    std::vector<char> scratch_;         // one read buffer for every socket
    std::string payload_;               // reused to build one message payload
    std::string data_;                  // reused to build one "<seq>:<pad>" data string
    std::string pad_;                   // options_.size bytes of 'x'
    std::string batch_;                 // ingress: whole frames back to back, constant mask
    std::size_t frame_bytes_ = 0;       // ingress: size of one frame in batch_
    uint8_t opcode_ = ws_opcode::text;  // data frames: binary for nats, text otherwise

    int64_t now_ = 0;                      // monotonic ns, refreshed each loop round and read
    int64_t start_ns_ = 0;                 // when the connect phase began
    int64_t run_start_ns_ = 0;             // when the load phase began
    int64_t run_end_ns_ = 0;               // when it ended (sending stopped)
    int64_t last_progress_ns_ = 0;         // last progress line
    int64_t middle_ns_ = 0;                // ingress: when half the duration had passed
    uint64_t middle_sent_ = 0;             // ingress: messages written by then
    uint32_t opened_ = 0;                  // connections opened so far (next index)
    uint32_t in_flight_ = 0;               // opened, handshake not yet done
    uint32_t ready_now_ = 0;               // ready and still open
    uint32_t ever_ready_ = 0;              // reached ready at some point
    uint64_t failed_connects_ = 0;         // failed before ready
    uint64_t dropped_ = 0;                 // closed after ready (by the server or an error)
    uint64_t protocol_errors_ = 0;         // error answers (adashta error, nats -ERR, nack)
    uint64_t failures_logged_ = 0;         // failure lines written to stderr
    uint64_t sent_ = 0;                    // requests sent (reqrep, durable)
    uint64_t answered_ = 0;                // replies/acks received in time (this phase)
    uint64_t phase_first_seq_ = 0;         // reqrep: seq of this phase's first request
    int phase_ = 1;                        // reqrep: which of --phases runs now (from 1)
    uint64_t backlog_drops_ = 0;           // reqrep sends skipped: connection backlog too big
    std::vector<uint64_t> answered_bits_;  // reqrep: which seqs were answered (no double count)
    Histogram latency_;                    // microseconds
    Histogram send_lag_;  // open-loop reqrep: loop round that sent a request − its slot, us
    bool ingress_running_ = false;         // ingress: pump batches on EPOLLOUT
    bool load_running_ = false;            // reqrep/durable: keep sending
    enum class StreamState { none, pending, ready, failed } stream_ = StreamState::none;
    std::string stream_error_;  // why JetStream refused the stream
};
