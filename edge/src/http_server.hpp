// The edge's HTTP thread: serves /adashta.js, /adashta.mjs, /healthz, /metrics, the admin
// page (/admin, its WebSocket /admin/ws), the app folder, and the browser protocol on /ws.
// It owns every browser connection (Sessions); the mesh side (Router) answers through push(),
// which wakes the service loop (libev on epoll, with libwebsockets on it) through an ev_async.
//
// libwebsockets only listens, accepts, does TLS and runs the sockets on the loop: the
// listener's connections are raw sockets to it (listen_accept_role "raw-skt"). HTTP/1.1 and
// WebSocket are the edge's own (client_socket.hpp, http_request.hpp, ws_frames.hpp), so
// every malformed request or frame gets the answer RFC 9112 or RFC 6455 asks for: a status
// (400, 414, 431, ...) or a close frame (1002, 1007, 1009) before TCP ends.
//
// The libwebsockets callback is a switch over reasons that hands each to a named member;
// nothing in it throws.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "adashta/plugins/chain.hpp"
#include "adashta/plugins/services.hpp"
#include "access.hpp"
#include "admin_snapshot.hpp"
#include "admin_socket.hpp"
#include "client_socket.hpp"
#include "echo_socket.hpp"
#include "connection_limits.hpp"
#include "edge.hpp"
#include "plugin_routes.hpp"
#include "protocol.hpp"
#include "resume_secrets.hpp"
#include "router.hpp"
#include "sessions.hpp"

struct ev_loop;
struct lws;
struct lws_context;
struct lws_context_creation_info;

namespace adashta::edge {

// A frame with LWS_PRE spare bytes in front, as lws_write wants.
std::shared_ptr<std::string> new_frame();

struct HttpStats {
    std::atomic<std::uint64_t> frames_in{0};    // text frames received
    std::atomic<std::uint64_t> frames_out{0};   // frames queued to clients
    std::atomic<std::uint64_t> bad_frames{0};   // frames answered with an error
    std::atomic<std::uint64_t> slow_closed{0};  // connections closed as slow consumers
    std::atomic<std::uint64_t> auth_refused{0};    // hellos and refreshes whose token failed
    std::atomic<std::uint64_t> resume_refused{0};  // resumes without the session's secret
    std::atomic<std::uint64_t> not_granted{0};     // frames for queues the token does not grant
    std::atomic<std::uint64_t> expired_closed{0};  // connections closed at their token's exp
    std::atomic<std::uint64_t> origin_refused{0};  // upgrades refused for their Origin
};

// One hook's calls gathered in a service round (HTTP thread): their texts end to end in one
// buffer, so a call costs no allocation of its own; made into the chain's items, views of
// that buffer, when the round is sent.
class HookRound {
public:
    bool empty() const { return calls_.empty(); }
    // A message's call: its queue, the subject a hook's msg sees (queue, id and, when set,
    // offset and ts), its data and the client.
    void add(std::string_view queue, std::string_view id, std::int64_t offset, std::int64_t ts,
             std::string_view data, std::string_view context);
    // Hands the round on: its texts go into texts (keep them until the batch is decided),
    // and the items (put into the empty vector items) view them. The next round starts with
    // a buffer from spare, if any.
    std::vector<plugins::ChainItem> take(plugins::Hook hook, std::string& texts, std::vector<std::string>& spare,
                                         std::vector<plugins::ChainItem> items);

private:
    struct Span {
        std::size_t at = 0, size = 0;
    };
    Span put(std::string_view text);
    std::string texts_;
    std::vector<std::array<Span, 4>> calls_;  // queue, subject, data, context
    Span context_;                            // the last call's context, if has_context_
    bool has_context_ = false;
};

class HttpServer final : public ClientSink, private SocketHandler {
public:
    using Report = std::function<std::string()>;

    HttpServer(const EdgeOptions& options, Router& router, Report health, Report metrics);
    ~HttpServer() override;

    // Checks the TLS files (bad_option) and binds (bind_failed when the address is taken).
    Status start();
    // Who may connect and how sessions resume; before run(), and both outlive the server.
    void secure(const Access& access, const ResumeSecrets& secrets);
    // Serves until request_stop(), then drains the clients: new connections get 503, no
    // more frames are read, the produces read so far get their answers from the store, and
    // every client is closed with 1001 once what waits for it is written. Returns when the
    // last connection is gone or drain_deadline() passed.
    void run();
    void request_stop();  // any thread, or a signal handler
    // When the drain must end; set when it starts (HTTP thread, so read it after run()).
    Clock::time_point drain_deadline() const { return drain_deadline_; }

    void push(ClientBound&& event) override;  // from the mesh thread
    void push_all(std::vector<ClientBound>&& events) override;
    void handed_on(std::vector<HandedOn>&& produces) override;
    // Runs fn on the HTTP thread soon (after the events already in the inbox). Any thread:
    // how a plugin's verdict, decided on its own thread, comes back to the connections.
    void post(std::function<void()> fn);
    // The plugins the hooks run through from now on (null: none); any thread
    // (PluginGate's install callback). Steps already in the old chain finish there.
    void use_plugins(std::shared_ptr<plugins::Chain> chain);
    // Lets go of the chain at once, when the service loop does not run (after run(), or
    // before it): the edge unloads its plugins before the mesh and the store go.
    void drop_plugins() { plugins_.reset(); }
    // A plugin's message for the queue's server nodes (PluginServices::produce with
    // to_server): produced as a browser of session message.session (the plugin's name when
    // empty) would, without its on_message; done gets the store's (or the node's) answer on
    // the HTTP thread. Any thread.
    void plugin_produce(plugins::PluginProduce message, std::function<void(const Status&)> done);
    // Answers to plugin_produce come for these connection numbers, which no socket has.
    static constexpr std::uint64_t kPluginProducer = std::uint64_t{1} << 62;

    std::size_t connection_count() const { return connections_; }
    std::size_t session_count() const { return sessions_count_; }
    const HttpStats& stats() const { return stats_; }
    const ConnectionLimits& limits() const { return limits_; }  // its stats() from any thread

    // Everything libwebsockets reports, from its protocol callback; reason is an
    // lws_callback_reasons. Public only so that callback can reach it.
    int dispatch(lws* wsi, int reason, void* user, void* in, std::size_t len);

private:
    struct PerSession;
    // HTTPS and WSS with options_.tls_cert and tls_key, which check_tls_files passed.
    void serve_tls(lws_context_creation_info& info) const;
    // A plain-HTTP request or WebSocket on the HTTPS port, which libwebsockets lets through
    // (for its redirect to https://, which the edge now does itself): a request is redirected
    // with 301 and a WebSocket refused with 403; nothing is served.
    bool plain_on_tls(const ClientSocket& socket) const;
    // The connection's transport (nullptr once its socket is gone).
    static ClientSocket* socket_of(const Connection& c);
    // --- SocketHandler: what the listener's sockets hand on ----------------------------------
    void on_request(ClientSocket& socket, const HttpRequest& request) override;
    void on_message(ClientSocket& socket, bool binary, std::string_view payload) override;
    void on_closing(ClientSocket& socket, std::uint16_t code, bool failure) override;
    bool on_writeable(ClientSocket& socket) override;
    void on_closed(ClientSocket& socket) override;
    std::size_t max_body(const HttpRequest& request) override { return PluginRoutes::max_body(request); }
    // An answer of the HTTP routes: not cached, and the connection kept alive.
    void respond(ClientSocket& socket, int status, std::string_view mime, std::string_view body);
    void refuse_over_cap(ClientSocket& socket, std::string_view path);  // 503, Retry-After
    // A WebSocket upgrade: checked (path, version, key, drain, caps, Origin: 403 when not
    // allowed), then accepted on its route.
    void on_upgrade(ClientSocket& socket, const HttpRequest& request);
    void on_established(ClientSocket& socket);  // a browser WebSocket on /ws

    void handle_frame(Connection& c, std::string_view text);
    void handle_hello(Connection& c, ClientFrame& f);
    // The end of an admitted hello: binds the session, sends welcome, tells the router.
    void welcome(Connection& c, const std::string& session, bool resuming);
    // --- plugin hooks (http_plugins.cpp) --------------------------------------------------
    // Each returns false when no plugin runs and nothing of c waits (go on as without
    // plugins); true when the hook took the step and finishes it with the verdict.
    bool hook_produce(Connection& c, ClientProduce& p);
    bool hook_deliver(Connection& c, const ClientBound& event,
                      const std::shared_ptr<std::string>& frame);
    bool hook_connect(Connection& c, std::string session, bool resuming,
                      std::optional<std::uint64_t> ref);
    void hook_disconnect(const Connection& c);
    void produce_decided(ClientProduce& p, plugins::Verdict v, const std::string& who);
    // Step ticket of c's in (produces) or out (deliveries) steps is decided: run, then
    // every decided step after it, in order. A step at the front runs at once (run is not
    // kept, so it costs no allocation); one behind others waits as a std::function.
    template <class Run>
    void step_ready(std::uint64_t serial, bool in, std::uint64_t ticket, Run&& run);
    // The same with the step in place: now() when it runs at once, keep() for the
    // std::function to wait with (so what it holds moves only when it waits).
    template <class Now, class Keep>
    void step_ready(std::uint64_t serial, bool in, std::uint64_t ticket, Now&& now, Keep&& keep);
    struct HookedDelivery;
    void delivery_decided(const HookedDelivery& h, const plugins::Verdict& v);
    // Runs the steps at the front of serial's in or out steps that are decided.
    void run_ready_steps(std::uint64_t serial, bool in);
    // The hook calls gathered in this service round go to the plugins, one batch a hook.
    void flush_hooks();
    // One hook's batch: calls to the chain; when decided, decide(held[i], decision) runs as
    // step i of its connection's in or out steps.
    // spare: a decided round's held vector, kept for its room.
    template <class Held, class Decide>
    void flush_hook_round(plugins::Hook hook, HookRound& round, std::vector<Held>& held, std::vector<Held>& spare,
                          bool in, Decide decide);
    // A round's gathered vector, handed on; the next round's starts with as much room (a
    // vector regrown from nothing every round was most of the edge's malloc time), from
    // spare when it has it (emptied: a decided round's, given back).
    template <class T>
    static std::vector<T> take_round(std::vector<T>& gathered, std::vector<T>& spare) {
        std::vector<T> out = std::move(gathered);
        gathered = std::move(spare);
        spare = {};
        if (gathered.capacity() < out.size()) gathered.reserve(out.size());
        return out;
    }
    template <class T>
    static std::vector<T> take_round(std::vector<T>& gathered) {
        std::vector<T> none;
        return take_round(gathered, none);
    }
    void make_hook_client(Connection& c);
    // An answer to plugin_produce: its done runs; false if event is not one.
    bool plugin_answered(const ClientBound& event);
    static std::string hook_request(const ClientSocket& socket, const HttpRequest& request);
    void handle_refresh(Connection& c, ClientFrame& f);
    // Answers a frame for a queue the connection's token does not grant; false if granted.
    bool refused(Connection& c, Action action, const ClientFrame& f);
    void send_frame(Connection& c, std::shared_ptr<std::string> frame);
    // A message of queue from a node: held while the queue replays, else sent.
    void send_live(Connection& c, const std::string& queue, std::int64_t offset,
                   std::shared_ptr<std::string> frame);
    void replayed(ClientBound& event);
    void close_connection(Connection& c, int code, std::string_view reason);
    // Runs add (which adds to the inbox) under the inbox lock, and wakes the HTTP thread
    // if the inbox was empty.
    template <class Add>
    void add_to_inbox(Add&& add);
    void drain_inbox();
    void wake();  // the service thread, from any thread
    // Sends what the round's writes held back (on_writeable corks a socket for them). A
    // socket closed meanwhile gets EBADF, and one reopened under the same fd was not corked.
    void uncork_all();
    // Hands the produces read since the last call to the router, in one go.
    void flush_produced();
    void deliver(ClientBound& event);
    // --- memory bounded by bytes (http_budgets.cpp; docs/operations.md, "Memory") -------
    // A produce of connection, which cost this much, got its answer: the budgets get it
    // back, and reading resumes where it paused for them.
    void produce_answered(std::uint64_t connection, std::size_t cost);
    // Pauses or resumes reading c (lws_rx_flow_control) by its produces waiting for the
    // store (count and bytes), its reads waiting their turn, and the edge's produce bytes.
    // Pauses at a budget, resumes at half of it.
    void update_reading(Connection& c);
    void resume_paused_for_edge();
    // Starts c's next store read (fetch, replay page) when none is under way, its outbox
    // has room for a page, and the edge's page budget allows; else it waits for that.
    void pump_reads(Connection& c);
    // The answer to c's read is in its outbox (c null: the connection is gone).
    void page_arrived(Connection* c);
    void page_done(Connection& c);  // the page is written: c may read the next
    void release_page();           // the edge's page budget gets a page back
    void read_waiting();           // connections that waited for the page budget
    // Gives freed memory back to the system once the edge is quiet after a burst.
    void trim_when_idle();
    // Produces of one connection waiting for the store before its reading pauses.
    static constexpr std::size_t kMaxProducing = 256;
    // Reads (fetches, replay pages) of one connection waiting their turn before reading pauses.
    static constexpr std::size_t kMaxReadsWaiting = 16;
    // What the edge holds for one produce besides its data (frame parts, the message on
    // its way to the store, its answer), counted in the produce budgets.
    static constexpr std::size_t kProduceOverhead = 1024;
    // A connection with less than this waiting for the store is not paused for the edge's
    // budget: a quiet client keeps being served while others flood.
    static constexpr std::size_t kEdgeFloor = 16 << 10;
    void sweep();
    void schedule_sweep();
    // One pass of the service loop: what libev has ready, then what the pass held back.
    void serve_once();
    // The shutdown path run() takes after request_stop(): the steps of the drain, in order.
    void drain();
    void stop_reading_clients();
    std::size_t produces_unanswered();  // over every connection
    void close_clients_going_away();
    // Serves until done() or the drain deadline; false if the deadline came first.
    template <class Done>
    bool serve_until(Done&& done);
    // The HTTP thread's part of an admin snapshot; the router adds the rest (admin_snapshot.hpp).
    void start_admin_snapshot();
    // A snapshot back from the router: to every admin page.
    void publish_admin(const AdminSnapshot& snapshot);

    const EdgeOptions& options_;
    const Access* access_ = nullptr;           // see secure()
    const ResumeSecrets* secrets_ = nullptr;   // see secure()
    Router& router_;
    Report health_;
    Report metrics_;
    std::filesystem::path app_root_;  // canonical app folder; empty = built-in page
    lws_context* context_ = nullptr;
    struct ev_loop* loop_ = nullptr;  // libev (epoll) under libwebsockets
    Sessions sessions_;
    AdminSockets admin_;        // the admin pages' connections (HTTP thread)
    ConnectionLimits limits_;   // --max-connections and its kin (HTTP thread)
    AdminRates admin_rates_;    // HTTP thread
    EchoSockets echo_;          // --test-echo-path's connections (HTTP thread)
    QueueCounts out_to_browsers_;  // node messages sent on to browsers, by queue (HTTP thread)
    std::int64_t started_ms_ = 0;  // wall clock, at start()
    HttpStats stats_;
    std::atomic<std::size_t> connections_{0};
    std::atomic<std::size_t> sessions_count_{0};
    std::atomic<bool> stop_{false};
    bool draining_ = false;  // HTTP thread: the drain began; new requests get 503
    bool drained_ = false;   // HTTP thread: the drain ended; the router hears no more
    Clock::time_point drain_deadline_{};
    std::vector<int> corked_;  // sockets corked in this service round
    std::unordered_set<ClientSocket*> sockets_;  // every socket of the listener (HTTP thread)
    // /plugins/NAME/ (HTTP thread): routes and assets of the plugins in plugins_.
    PluginRoutes plugin_routes_{[this] { return plugins_; },
                                [this](std::function<void()> fn) { post(std::move(fn)); }, sockets_};
    struct Waker;
    std::unique_ptr<Waker> waker_;  // after loop_: other threads' way in
    struct SweepTimer;
    std::unique_ptr<SweepTimer> sweep_timer_;
    struct DrainTimer;
    std::unique_ptr<DrainTimer> drain_timer_;  // wakes the loop at the drain deadline

    // Memory budgets (HTTP thread; http_budgets.cpp).
    std::size_t page_bytes_ = 0;        // one page: max_page_bytes, at most half an outbox
    std::size_t producing_total_ = 0;   // cost of every produce waiting for its answer
    std::size_t reading_total_ = 0;     // page budgets held by connections' reads
    std::size_t outbox_total_ = 0;      // payload bytes in every connection's outbox
    std::vector<std::uint64_t> paused_for_edge_;  // paused while producing_total_ is high
    std::deque<std::uint64_t> waiting_to_read_;   // waiting for the page budget, in order
    std::uint64_t frames_at_sweep_ = 0;  // frames in and out at the last sweep
    std::uint64_t bytes_since_trim_ = 0; // payload read and queued since the last trim

    std::shared_ptr<plugins::Chain> plugins_;  // the hooks' chain; null: none (HTTP thread)
    // Hook calls made in this service round, sent as one batch a hook by flush_hooks (the
    // same round's end), beside what each step needs once its verdict comes (HTTP thread).
    struct HookedProduce {
        std::uint64_t serial = 0, ticket = 0;  // its connection and step
        ClientProduce produce;
    };
    struct HookedDelivery {
        std::uint64_t serial = 0, ticket = 0;  // its connection and step
        std::string queue, id;
        std::int64_t offset = 0, ts = 0;
        std::shared_ptr<std::string> frame;    // as encoded, for a pass unchanged
    };
    std::vector<HookedProduce> hooked_produces_;
    HookRound produce_calls_;                 // one for each of hooked_produces_
    std::vector<HookedDelivery> hooked_deliveries_;
    HookRound delivery_calls_;                // one for each of hooked_deliveries_
    std::vector<std::string> spare_texts_;    // decided rounds' buffers, for the next rounds
    std::vector<HookedProduce> spare_produces_;      // a decided round's hooked_produces_, emptied
    std::vector<HookedDelivery> spare_deliveries_;   // a decided round's hooked_deliveries_, emptied
    // plugin_produce's messages waiting for their answer, by their connection number (HTTP thread).
    std::unordered_map<std::uint64_t, std::function<void(const Status&)>> plugin_produces_;
    std::uint64_t plugin_produced_ = 0;
    std::string upgrade_request_;  // on_upgrade -> on_established: hook_request() (HTTP thread)
    std::vector<ClientProduce> produced_;   // read in this service round, for the router
    std::mutex inbox_mutex_;                // guards inbox_, handed_on_
    std::vector<ClientBound> inbox_;        // from the mesh thread
    std::vector<HandedOn> handed_on_;       // produces that wanted no answer and went on
    std::vector<std::function<void()>> posted_;  // post()ed work, in order
    bool inbox_empty() const {  // with the lock
        return inbox_.empty() && handed_on_.empty() && posted_.empty();
    }
};

}  // namespace adashta::edge
