#include "http_server.hpp"

#include <arpa/inet.h>
#include <ev.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <iterator>
#include <utility>

#include "adashta/errors.hpp"
#include "adashta/ids.hpp"
#include "adashta/log.hpp"
#include "adashta/version.hpp"
#include "protocol.hpp"
#include "static_files.hpp"
#include "tls_files.hpp"
#include "ws_frames.hpp"

namespace adashta::edge {

extern const std::string_view kAdashtaJs;
extern const std::string_view kAdashtaMjs;
extern const std::string_view kAdashtaDts;
extern const std::string_view kAdminHtml;

namespace {

constexpr const char* kProtocolName = "adashta.v1";
constexpr lws_usec_t kSweepEvery = 1'000'000;  // 1 s
// libwebsockets reads every socket of the service thread into one buffer of this size and
// hands the bytes to RAW_RX; the edge keeps none per connection (a message arriving in
// pieces is put together by its decoder, up to --max-frame).
constexpr unsigned kReadBufferBytes = 16 << 10;

// Shown at "/" when the edge serves no app folder.
constexpr std::string_view kBuiltinPage = R"(<!doctype html>
<html><head><meta charset="utf-8"><title>Adashta Queue edge</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem}
code,pre{background:#f3f3f3;padding:.1rem .3rem;border-radius:4px}</style></head>
<body><h1>Adashta Queue edge</h1>
<p>This edge is running. Serve your app from a folder with <code>adashta edge APP_DIR</code>,
and load the browser SDK from <a href="/adashta.js">/adashta.js</a>:</p>
<pre>&lt;script src="/adashta.js"&gt;&lt;/script&gt;
&lt;script&gt;
  const client = adashta.connect();
  client.consume("echo", (data) =&gt; console.log("reply", data));
  client.produce("echo", {hello: "world"});
&lt;/script&gt;</pre>
<p>Health: <a href="/healthz">/healthz</a> &middot; metrics: <a href="/metrics">/metrics</a></p>
</body></html>
)";

int lws_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
    auto* server = static_cast<HttpServer*>(lws_context_user(lws_get_context(wsi)));
    if (!server) return lws_callback_http_dummy(wsi, reason, user, in, len);
    return server->dispatch(wsi, static_cast<int>(reason), user, in, len);
}

// libwebsockets' own lines go through our logger (so they are JSON lines too with
// --log-format json): its errors as errors and its warnings as warnings. Its notices are not
// asked for, not even at --log-level debug: on libev it writes one for every socket event.
// While the context is made they are held instead (HeldLwsLines).
struct HeldLine {
    log::Level level;
    std::string text;
};
thread_local std::vector<HeldLine>* t_held_lws_lines = nullptr;

log::Level our_level(int lws_level) {
    return (lws_level & LLL_ERR) ? log::Level::error : log::Level::warn;
}

void lws_log_to_ours(int level, const char* line) {
    std::string_view text{line};
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    if (t_held_lws_lines)
        t_held_lws_lines->push_back({our_level(level), std::string{text}});
    else
        log::write(our_level(level), "lws", text);
}

// Holds what libwebsockets logs while a context is made. When making it fails, the edge
// reports why itself (bind_failed, and the CLI's text for it), so libwebsockets' raw lines
// ("ERROR on binding fd 5 to port 8080 (-1 98)", "init server failed") would only come
// before that clear error as noise: they go out at debug level (--log-level debug shows
// them). When it succeeds, they go out at their own level. The TLS files were checked before
// (check_tls_files), so a failure here is about the address.
class HeldLwsLines {
public:
    HeldLwsLines() { t_held_lws_lines = &lines_; }
    ~HeldLwsLines() { t_held_lws_lines = nullptr; }
    HeldLwsLines(const HeldLwsLines&) = delete;
    HeldLwsLines& operator=(const HeldLwsLines&) = delete;

    void release(bool failed) {
        t_held_lws_lines = nullptr;
        for (const auto& line : lines_)
            log::write(failed ? log::Level::debug : line.level, "lws", line.text);
        lines_.clear();
    }

private:
    std::vector<HeldLine> lines_;
};

std::size_t payload_size(const std::string& frame) {
    return frame.size() - LWS_PRE;
}

}  // namespace

std::shared_ptr<std::string> new_frame() {
    auto frame = std::make_shared<std::string>(LWS_PRE, '\0');
    frame->reserve(LWS_PRE + 128);
    return frame;
}

struct HttpServer::PerSession {
    // lws allocates this zeroed and frees it without destructors: plain members only.
    ClientSocket* socket;  // made at RAW_ADOPT, deleted at RAW_CLOSE
};

// Wakes the service thread from others (libwebsockets' own wake-up, lws_cancel_service, does
// not reach a loop it did not make).
struct HttpServer::Waker {
    ev_async async;  // first member: the callback gets its address
    HttpServer* server;
};

struct HttpServer::SweepTimer {
    lws_sorted_usec_list_t sul;  // first member: the timer callback gets its address
    HttpServer* server;
};

struct HttpServer::DrainTimer {
    ev_timer timer;  // only wakes the loop
};

HttpServer::HttpServer(const EdgeOptions& options, Router& router, Report health, Report metrics)
    : options_(options),
      router_(router),
      health_(std::move(health)),
      metrics_(std::move(metrics)),
      admin_(options.hello_timeout),
      echo_(options.max_frame, options.max_outbox),
      page_bytes_(std::min({options.max_page_bytes, options.max_outbox / 2,
                            options.max_reading_total})) {}

HttpServer::~HttpServer() {
    limits_.stop();  // its watchers are on the listener, which the context closes
    if (context_) lws_context_destroy(context_);  // RAW_CLOSE for every socket
    for (ClientSocket* socket : sockets_) delete socket;
    if (waker_) ev_async_stop(loop_, &waker_->async);
    if (loop_) ev_loop_destroy(loop_);
}

namespace {

// "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces).
bool split_host_port(const std::string& address, std::string& host, int& port) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return false;
    host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    const std::string digits = address.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
        return false;
    port = std::stoi(digits);
    return port > 0 && port < 65536;
}

bool is_ipv4_address(const std::string& host) {
    in_addr address{};
    return inet_pton(AF_INET, host.c_str(), &address) == 1;
}

}  // namespace

void HttpServer::serve_tls(lws_context_creation_info& info) const {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = options_.tls_cert.c_str();
    info.ssl_private_key_filepath = options_.tls_key.c_str();
    // HTTP/1.1 only, as over plain HTTP (the edge parses HTTP/1.1 itself). With h2 a browser
    // could put its WebSocket (RFC 8441) and its page loads on one shared socket, where
    // per-connection reading pauses (lws_rx_flow_control), corking and slow-consumer drops
    // would act on all of them.
    info.alpn = "http/1.1";
    // A plain-HTTP request on the HTTPS port gets a redirect to https:// instead of a failed
    // handshake that a browser shows as an empty page. With REDIRECT_HTTP_TO_HTTPS,
    // libwebsockets 4.1 hands such a socket on without TLS (on a raw socket it redirects
    // nothing itself): on_request answers 301, and 403 to a WebSocket upgrade, so nothing is
    // served over plain HTTP.
    info.options |= LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT |
                    LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS;
}

Status HttpServer::start() {
    auto certificate = check_tls_files(options_.tls_cert, options_.tls_key);
    if (!certificate) return certificate.error();
    std::string host;
    int port = 0;
    if (!split_host_port(options_.http, host, port))
        return make_error(
            Errc::bad_option,
            "--http wants HOST:PORT with a port from 1 to 65535, got \"" + options_.http + "\"");
    auto admin_token = AdminToken::make(options_);
    if (!admin_token) return admin_token.error();
    admin_.set_token(*admin_token);
    started_ms_ = now_ms();
    if (!options_.app_dir.empty()) {
        std::error_code ec;
        app_root_ = std::filesystem::canonical(options_.app_dir, ec);
        if (!ec && !std::filesystem::is_directory(app_root_))
            ec = std::make_error_code(std::errc::not_a_directory);
        if (ec)
            return make_error(Errc::bad_option, "app folder (APP_DIR) \"" + options_.app_dir +
                                                    "\" cannot be served: " + ec.message());
    }

    // One protocol, raw sockets: HTTP and the WebSocket are ClientSocket's.
    static const lws_protocols protocols[] = {
        {kProtocolName, lws_callback, sizeof(PerSession), 0, 0, nullptr, 0},
        {nullptr, nullptr, 0, 0, 0, nullptr, 0},
    };
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_ours);
    lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = (host.empty() || host == "0.0.0.0" || host == "*") ? nullptr : host.c_str();
    info.protocols = protocols;
    info.user = this;
    // Every accepted socket is raw (ours to parse), on the one protocol.
    info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
    info.listen_accept_role = "raw-skt";
    info.listen_accept_protocol = kProtocolName;
    info.pt_serv_buf_size = kReadBufferBytes;
    // An IPv4 address gets an IPv4 socket. Left to itself, libwebsockets 4.1 binds an IPv6
    // socket to [::] for it: every interface instead of the one asked for, and a larger
    // kernel socket per connection (TCPv6).
    if (info.iface && is_ipv4_address(host)) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    // libwebsockets' own loop poll()s every connection on each wake-up, so its cost grows
    // with the idle connections. On libev's epoll it does not. The loop is ours ("foreign")
    // so that libwebsockets leaves SIGINT alone: the CLI takes signals in its own thread.
    loop_ = ev_loop_new(EVBACKEND_EPOLL);
    if (!loop_)  // out of descriptors or memory, which stops the listener too
        return make_error(Errc::bind_failed,
                          "cannot make an epoll event loop (libev) for " + options_.http);
    void* loops[] = {loop_};
    info.options |= LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = loops;
    info.timeout_secs = 10;  // the TLS handshake; ClientSocket times the rest (http_limits.hpp)
    info.server_string = "adashta";
    if (!options_.tls_cert.empty()) serve_tls(info);
    // Sizes the caps by the descriptor limit, which it may raise: before libwebsockets reads it.
    if (auto planned = limits_.plan(options_); !planned) return planned;
    HeldLwsLines held;
    context_ = lws_create_context(&info);
    held.release(!context_);
    if (!context_)
        return make_error(Errc::bind_failed, "cannot listen for HTTP on " + options_.http);
    if (!options_.tls_cert.empty())
        log::info("edge", "TLS certificate " + certificate->subject + ", valid until " +
                              certificate->not_after);
    if (!options_.test_echo_path.empty())
        log::warn("edge", "--test-echo-path " + options_.test_echo_path +
                              ": every message there is echoed; for conformance tests only");
    if (certificate->expired)
        log::warn("edge", "the certificate in " + options_.tls_cert + " expired on " +
                              certificate->not_after +
                              ": browsers refuse it; give a current one and restart the edge");

    limits_.watch(loop_, port, !options_.tls_cert.empty());
    waker_ = std::make_unique<Waker>();
    waker_->server = this;
    ev_async_init(&waker_->async, [](struct ev_loop*, ev_async* async, int) {
        reinterpret_cast<Waker*>(async)->server->drain_inbox();
    });
    ev_async_start(loop_, &waker_->async);

    sweep_timer_ = std::make_unique<SweepTimer>();
    std::memset(&sweep_timer_->sul, 0, sizeof sweep_timer_->sul);
    sweep_timer_->server = this;
    schedule_sweep();
    drain_timer_ = std::make_unique<DrainTimer>();
    return {};
}

void HttpServer::run() {
    while (!stop_) serve_once();
    drain();
}

void HttpServer::serve_once() {
    // One pass of the loop (lws_service would run libev until it has no watchers left).
    ev_run(loop_, EVRUN_ONCE);
    uncork_all();
    // One service round reads every connection that is ready: their produces go on
    // together, one hand-off to the mesh thread instead of one each.
    flush_produced();
}

void HttpServer::request_stop() {
    stop_ = true;
    wake();
}

void HttpServer::wake() {
    if (waker_) ev_async_send(loop_, &waker_->async);
}

// --- the drain --------------------------------------------------------------------------------

// The order matters: nothing new may come in while the store answers what did (1, 2); an
// answer the store gave must be written before the close that follows it (3, 4).
void HttpServer::drain() {
    const auto started = Clock::now();
    drain_deadline_ = started + options_.drain_timeout;
    // A timer at the deadline: ev_run(EVRUN_ONCE) would otherwise sleep past it when
    // nothing else happens.
    ev_timer_init(&drain_timer_->timer, [](struct ev_loop*, ev_timer*, int) {},
                  std::chrono::duration<double>(options_.drain_timeout).count(), 0.);
    ev_timer_start(loop_, &drain_timer_->timer);
    const auto elapsed_ms = [&] {
        return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  Clock::now() - started)
                                  .count()) +
               " ms";
    };
    // 1. New connections and requests get 503 (draining_); 2. no client frame is read.
    draining_ = true;
    stop_reading_clients();
    flush_produced();  // read before the stop: they are answered like the others
    log::info("edge", "draining (up to " + std::to_string(options_.drain_timeout.count()) +
                          " s): " + std::to_string(sessions_.connection_count()) +
                          " connections, " + std::to_string(produces_unanswered()) +
                          " produces waiting for the store; new connections get 503");
    // 3. The produces read get their answers (acks mean committed), and they are sent.
    if (!serve_until([&] { return produces_unanswered() == 0; }))
        log::warn("edge", "drain: " + std::to_string(produces_unanswered()) +
                              " produces still had no answer from the store after " +
                              elapsed_ms() +
                              "; their clients send them again after reconnecting");
    // 4. Every client is told to reconnect, after what waits for it.
    const std::size_t closing = sessions_.connection_count();
    close_clients_going_away();
    if (serve_until([&] { return sessions_.connection_count() + admin_.connections() == 0; }))
        log::info("edge", "drain: every produce answered and " + std::to_string(closing) +
                              " connections closed with 1001 in " + elapsed_ms());
    else
        log::warn("edge", "drain timeout: " + std::to_string(sessions_.connection_count()) +
                              " of " + std::to_string(closing) +
                              " connections did not finish closing within " +
                              std::to_string(options_.drain_timeout.count()) +
                              " s (--drain-timeout-s); they are dropped");
    ev_timer_stop(loop_, &drain_timer_->timer);
    drained_ = true;
}

template <class Done>
bool HttpServer::serve_until(Done&& done) {
    while (!done()) {
        if (Clock::now() >= drain_deadline_) return false;
        serve_once();
    }
    return true;
}

void HttpServer::stop_reading_clients() {
    sessions_.for_each_connection([](Connection& c) {
        if (c.rx_paused) return;
        c.rx_paused = true;  // and produce_answered() no longer resumes it
        lws_rx_flow_control(static_cast<lws*>(c.wsi), 0);
    });
}

std::size_t HttpServer::produces_unanswered() {
    std::size_t n = 0;
    sessions_.for_each_connection([&](Connection& c) { n += c.producing; });
    return n;
}

void HttpServer::close_clients_going_away() {
    // What is queued for a client (acks above all) goes out first; its ClientSocket then
    // sends the close, and the client's answer ends the connection.
    sessions_.for_each_connection([this](Connection& c) {
        close_connection(c, ws::close_code::going_away, "going_away");
    });
    admin_.shut_down();  // admin pages: 1001 too
}

void HttpServer::flush_produced() {
    flush_hooks();
    if (!produced_.empty()) router_.produce(take_round(produced_));
}

namespace {
// Appends from to to, taking from's buffer when to is empty.
template <class T>
void append(std::vector<T>& to, std::vector<T>&& from) {
    if (to.empty())
        to = std::move(from);
    else
        to.insert(to.end(), std::make_move_iterator(from.begin()),
                  std::make_move_iterator(from.end()));
}
}  // namespace

template <class Add>
void HttpServer::add_to_inbox(Add&& add) {
    {
        std::lock_guard lock{inbox_mutex_};
        const bool woken = !inbox_empty();
        add();
        if (woken) return;  // a wake-up is already on its way
    }
    wake();
}

void HttpServer::push(ClientBound&& event) {
    add_to_inbox([&] { inbox_.push_back(std::move(event)); });
}

void HttpServer::push_all(std::vector<ClientBound>&& events) {
    if (!events.empty()) add_to_inbox([&] { append(inbox_, std::move(events)); });
}

void HttpServer::handed_on(std::vector<HandedOn>&& produces) {
    if (!produces.empty()) add_to_inbox([&] { append(handed_on_, std::move(produces)); });
}

void HttpServer::post(std::function<void()> fn) {
    add_to_inbox([&] { posted_.push_back(std::move(fn)); });
}

// --- libwebsockets events ------------------------------------------------------------------

// The listener's sockets are raw to libwebsockets (listen_accept_role "raw-skt"): it accepts,
// does TLS and reports bytes and writeability; ClientSocket does HTTP and WebSocket.
int HttpServer::dispatch(lws* wsi, int reason_number, void* user, void* in, std::size_t len) {
    const auto reason = static_cast<lws_callback_reasons>(reason_number);
    auto* pss = static_cast<PerSession*>(user);
    switch (reason) {
        // Every socket of the listener, counted against --max-connections (connection_limits.hpp).
        case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
            return limits_.filter(wsi, user) ? 0 : 1;
        case LWS_CALLBACK_WSI_CREATE:
            limits_.created(wsi);
            return 0;
        case LWS_CALLBACK_WSI_DESTROY:
            limits_.destroyed(wsi);
            return 0;
        case LWS_CALLBACK_RAW_ADOPT:
            if (!pss) return -1;
            pss->socket = new ClientSocket{wsi, *this, Clock::now()};
            sockets_.insert(pss->socket);
            return 0;
        case LWS_CALLBACK_RAW_RX:
            if (!pss || !pss->socket) return -1;
            return pss->socket->receive(static_cast<char*>(in), len);
        case LWS_CALLBACK_RAW_WRITEABLE:
            if (!pss || !pss->socket) return -1;
            return pss->socket->writeable();
        case LWS_CALLBACK_RAW_CLOSE:
            if (pss && pss->socket) {
                sockets_.erase(pss->socket);
                pss->socket->closed();
                delete std::exchange(pss->socket, nullptr);
            }
            return 0;
        default:
            return 0;
    }
}

bool HttpServer::plain_on_tls(const ClientSocket& socket) const {
    return !options_.tls_cert.empty() && !socket.tls();
}

void HttpServer::respond(ClientSocket& socket, int status, std::string_view mime,
                         std::string_view body) {
    socket.respond(status, mime, body, "Cache-Control: no-cache\r\n");
}

void HttpServer::on_request(ClientSocket& socket, const HttpRequest& request) {
    constexpr std::string_view kText = "text/plain; charset=utf-8";
    if (plain_on_tls(socket)) {
        // Plain HTTP on the HTTPS port: a browser is sent to https://; a WebSocket, which
        // cannot follow a redirect, is refused. Nothing is served.
        if (request.wants_websocket())
            return socket.respond(403, kText,
                                  "this edge serves HTTPS only: use https:// and wss:// on this "
                                  "port\n",
                                  {}, true);
        const std::string* host = request.header("Host");
        const std::string location =
            "https://" + (host && !host->empty() ? *host : options_.http) + request.target;
        return socket.respond(301, kText, "this edge serves HTTPS only: " + location + "\n",
                              "Location: " + location + "\r\n", true);
    }
    // The edge serves GET and HEAD, and reads no request body (the plugin routes' own).
    const bool plugin_route = PluginRoutes::owns(request.path());
    if (!plugin_route && request.method != "GET" && request.method != "HEAD")
        return socket.respond(405, kText, "this edge serves GET and HEAD only\n",
                              "Allow: GET, HEAD\r\n", true);
    if (!plugin_route && (request.header("Transfer-Encoding") ||
        (request.header("Content-Length") && *request.header("Content-Length") != "0")))
        return socket.respond(413, kText, "a GET or HEAD request carries no body here\n", {},
                              true);
    const std::string_view path = request.path();
    if (request.wants_websocket()) return on_upgrade(socket, request);
    // A load balancer that polls /healthz stops sending here; others try again shortly.
    if (draining_ && path == "/healthz")
        return socket.respond(503, "application/json", "{\"status\":\"draining\"}\n", {}, true);
    if (draining_)
        return socket.respond(503, kText,
                              "draining: this edge is shutting down; try again in a moment\n", {},
                              true);
    // Over a cap: 503, but /metrics, so that a full edge can still be watched.
    if (limits_.refusing(socket.wsi()) && path != "/metrics") return refuse_over_cap(socket, path);
    if (plugin_route) return plugin_routes_.serve(socket, request);
    if (path == "/healthz") return respond(socket, 200, "application/json", health_());
    if (path == "/metrics") return respond(socket, 200, "text/plain; version=0.0.4", metrics_());
    if (path == "/adashta.js")
        return respond(socket, 200, "text/javascript; charset=utf-8", kAdashtaJs);
    if (path == "/adashta.mjs")
        return respond(socket, 200, "text/javascript; charset=utf-8", kAdashtaMjs);
    if (path == "/adashta.d.ts")
        return respond(socket, 200, "application/typescript; charset=utf-8", kAdashtaDts);
    if (path == "/admin") {
        if (!admin_.enabled())
            return respond(socket, 404, kText,
                           "The admin page is off: it needs a token. Start the edge with "
                           "--admin-token-file FILE (or --admin-token TOKEN, or "
                           "$ADASHTA_ADMIN_TOKEN), then open /admin#token=TOKEN "
                           "(docs/operations.md, \"Admin page\").\n");
        return respond(socket, 200, "text/html; charset=utf-8", kAdminHtml);
    }
    if (path == "/admin/ws")
        return respond(socket, 426, kText,
                       "/admin/ws is the admin page's WebSocket: open /admin instead\n");
    if (path == "/ws")
        return respond(socket, 426, kText,
                       "/ws is the Adashta Queue WebSocket endpoint: connect with a WebSocket "
                       "client (adashta.connect() does)\n");
    if (app_root_.empty()) {
        if (path == "/" || path == "/index.html")
            return respond(socket, 200, "text/html; charset=utf-8", kBuiltinPage);
    } else if (auto file = resolve_static(app_root_, path)) {
        const std::string name = file->string();
        if (socket.respond_file(name, mime_type(name))) return;
    }
    respond(socket, 404, kText, "not found\n");
}

void HttpServer::refuse_over_cap(ClientSocket& socket, std::string_view path) {
    const auto refusal = limits_.refusal(socket.wsi(), path);
    socket.respond(503, refusal.content_type, refusal.body,
                   "Retry-After: " + std::to_string(ConnectionLimits::kRetryAfterSeconds) + "\r\n",
                   true);
}

void HttpServer::secure(const Access& access, const ResumeSecrets& secrets) {
    access_ = &access;
    secrets_ = &secrets;
}

void HttpServer::on_upgrade(ClientSocket& socket, const HttpRequest& request) {
    assert(access_ && "HttpServer::secure() was not called");
    constexpr std::string_view kText = "text/plain; charset=utf-8";
    // WebSockets live on /ws (browsers) and /admin/ws (the admin page) only, and the
    // conformance tests' echo (echo_socket.hpp) when --test-echo-path is set.
    const std::string_view path = request.path();
    ClientSocket::Route route = ClientSocket::Route::none;
    if (path == "/ws") route = ClientSocket::Route::browser;
    if (path == "/admin/ws") route = ClientSocket::Route::admin;
    if (!options_.test_echo_path.empty() && path == options_.test_echo_path)
        route = ClientSocket::Route::echo;
    if (route == ClientSocket::Route::none)
        return socket.respond(404, kText, "no WebSocket here: the browser protocol is on /ws\n",
                              {}, true);
    const std::string* version = request.header("Sec-WebSocket-Version");
    if (!version || *version != "13")
        return socket.respond(426, kText, "this edge speaks WebSocket version 13 (RFC 6455)\n",
                              "Sec-WebSocket-Version: 13\r\n", true);
    if (!ClientSocket::websocket_key_valid(request))
        return socket.respond(400, kText,
                              "a WebSocket upgrade needs a Sec-WebSocket-Key of 16 bytes in "
                              "base64\n",
                              {}, true);
    if (draining_)
        // The browser SDK takes the failed upgrade as a dropped connection and retries with
        // backoff, by which time the restarted edge (or another) answers.
        return socket.respond(503, kText,
                              "draining: this edge is shutting down; reconnect in a moment\n", {},
                              true);
    if (limits_.refusing(socket.wsi())) return refuse_over_cap(socket, "/ws");
    const std::string* origin = request.header("Origin");
    const std::string* host = request.header("Host");
    if (origin && !access_->origin_allowed(*origin, host ? *host : std::string{})) {
        ++stats_.origin_refused;
        log::info("edge", "refused a WebSocket from origin \"" + origin->substr(0, 128) +
                              "\": not in allowedOrigins");
        return socket.respond(403, kText,
                              "origin_refused: this page's origin may not connect to this edge "
                              "(allowedOrigins)\n",
                              {}, true);
    }
    // The browser protocol's name is echoed when the client offers it.
    const std::string_view subprotocol =
        request.header_has_token("Sec-WebSocket-Protocol", kProtocolName) ? kProtocolName : "";
    switch (route) {
        case ClientSocket::Route::echo:
            socket.upgrade(route, echo_.max_message(), subprotocol);
            socket.serial = echo_.open(socket);
            return;
        case ClientSocket::Route::admin:
            socket.upgrade(route, AdminSockets::kMaxMessage, subprotocol);
            socket.serial = admin_.open(socket, Clock::now());
            return;
        default:
            socket.upgrade(route, options_.max_frame, subprotocol);
            if (plugins_ && plugins_->runs(plugins::Hook::on_connect, ""))
                upgrade_request_ = hook_request(socket, request);
            return on_established(socket);
    }
}

void HttpServer::on_established(ClientSocket& socket) {
    Connection& c = sessions_.open(socket.wsi(), Clock::now());
    c.hook_request = std::exchange(upgrade_request_, {});
    socket.serial = c.serial;
    connections_ = sessions_.connection_count();
    if (draining_) close_connection(c, ws::close_code::going_away, "going_away");
}

void HttpServer::on_message(ClientSocket& socket, bool binary, std::string_view payload) {
    switch (socket.route()) {
        case ClientSocket::Route::echo:
            return echo_.receive(socket.serial, socket, binary, payload);
        case ClientSocket::Route::admin:
            if (admin_.receive(socket.serial, payload) && admin_.begin(Clock::now()))
                start_admin_snapshot();  // the page fills at once, not after a second
            return;
        default:
            break;
    }
    Connection* c = sessions_.find(socket.serial);
    // Closing, or draining: ignore the rest. A frame left unread gets no answer, so the
    // client sends it again after reconnecting (produces carry ids: stored once).
    if (!c || c->close_code || draining_) return;
    // on_connect is deciding: what the client sent after its hello waits for the verdict.
    if (c->admitting && !binary) {
        c->held_frames.emplace_back(payload);
        return;
    }
    if (binary) {
        ++stats_.bad_frames;
        auto frame = new_frame();
        encode_error(*frame, std::nullopt, Errc::binary_unsupported);
        send_frame(*c, std::move(frame));
        return;
    }
    handle_frame(*c, payload);
}

void HttpServer::on_closing(ClientSocket& socket, std::uint16_t code, bool failure) {
    switch (socket.route()) {
        case ClientSocket::Route::echo:
            return;
        case ClientSocket::Route::admin:
            return admin_.closing(socket.serial);
        default:
            break;
    }
    Connection* c = sessions_.find(socket.serial);
    if (!c || c->close_code) return;
    if (failure) ++stats_.bad_frames;  // a frame the decoder refused (1009 among them)
    c->close_code = code;  // nothing new is queued; what is goes out before the close
}

namespace {

// Failure only costs the saving (a socket that is not TCP, say): nothing to report.
void set_cork(int fd, int on) {
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
}

}  // namespace

void HttpServer::uncork_all() {
    for (int fd : corked_) set_cork(fd, 0);
    corked_.clear();
}

bool HttpServer::on_writeable(ClientSocket& socket) {
    switch (socket.route()) {
        case ClientSocket::Route::echo:
            return echo_.writeable(socket.serial, socket);
        case ClientSocket::Route::admin:
            return admin_.writeable(socket.serial, socket);
        default:
            break;
    }
    Connection* c = sessions_.find(socket.serial);
    if (!c) return true;
    // Several frames for one connection are held back (corked) until the end of the service
    // round (uncork_all): they leave in one segment, with one wake-up of the reader, and the
    // round's other connections go out together with them. On loopback, most of a send's
    // cost is waking the reader.
    if (c->out.size() > 1) {
        const int fd = lws_get_socket_fd(socket.wsi());
        set_cork(fd, 1);
        corked_.push_back(fd);
    }
    while (!c->out.empty()) {
        if (socket.choked()) {
            socket.request_writeable();
            return false;
        }
        std::string& frame = *c->out.front();
        const auto size = payload_size(frame);
        if (!socket.write_message(frame, ws::Opcode::text)) return true;  // it closes
        c->out_bytes -= size;
        c->written_total += size;
        outbox_total_ -= size;
        c->out.pop_front();
        ++stats_.frames_out;
        if (c->page_queued && c->written_total >= c->page_end) page_done(*c);
    }
    if (!c->reading && !c->reads.empty()) pump_reads(*c);  // the outbox has room now
    return true;
}

void HttpServer::on_closed(ClientSocket& socket) {
    switch (socket.route()) {
        case ClientSocket::Route::echo:
            return echo_.closed(socket.serial);
        case ClientSocket::Route::admin:
            return admin_.closed(socket.serial);
        default:
            break;
    }
    Connection* c = sessions_.find(socket.serial);
    if (!c) return;
    const std::string session = c->session;
    hook_disconnect(*c);
    outbox_total_ -= c->out_bytes;
    c->reads.clear();
    if (c->page_queued) release_page();  // else it is released when the page arrives
    sessions_.close(*c, Clock::now());
    connections_ = sessions_.connection_count();
    // A session taken over by a newer connection is still online. Past the drain the mesh
    // is going or gone: the connections lws_context_destroy closes are no news to it.
    if (!session.empty() && !sessions_.connection_of(session) && !drained_) {
        flush_produced();  // its messages reach the node before the news that it left
        router_.client_disconnected(session);
    }
}

ClientSocket* HttpServer::socket_of(const Connection& c) {
    auto* pss = static_cast<PerSession*>(lws_wsi_user(static_cast<lws*>(c.wsi)));
    return pss ? pss->socket : nullptr;
}

// --- the browser protocol -------------------------------------------------------------------

void HttpServer::handle_frame(Connection& c, std::string_view text) {
    ++stats_.frames_in;
    auto parsed = parse_client_frame(text);
    if (auto* bad = std::get_if<FrameError>(&parsed)) {
        ++stats_.bad_frames;
        auto frame = new_frame();
        encode_error(*frame, bad->ref, bad->error.code, bad->error.detail);
        send_frame(c, std::move(frame));
        if (bad->error.code == Errc::bad_session)
            close_connection(c, static_cast<int>(Errc::bad_session), "bad_session");
        return;
    }
    ClientFrame& f = std::get<ClientFrame>(parsed);
    auto answer = [&](auto&& encode) {
        auto frame = new_frame();
        encode(*frame);
        send_frame(c, std::move(frame));
    };
    if (c.session.empty() && f.type != FrameType::hello) {
        ++stats_.bad_frames;
        answer([&](std::string& out) { encode_error(out, f.ref, Errc::hello_required); });
        return;
    }
    switch (f.type) {
        case FrameType::hello:
            return handle_hello(c, f);
        case FrameType::refresh:
            return handle_refresh(c, f);
        case FrameType::produce: {
            if (refused(c, Action::produce, f)) return;
            // Back-pressure: a client that produces faster than the store commits stops
            // being read (TCP then slows it down) instead of piling frames up in memory.
            const std::size_t cost = f.data.size() + kProduceOverhead;
            ++c.producing;
            c.producing_bytes += cost;
            producing_total_ += cost;
            bytes_since_trim_ += f.data.size();
            update_reading(c);
            ClientProduce p{.connection = c.serial,
                                 .ref = f.ref,
                                 .session = c.session,
                                 .user = c.admission.user,
                                 .queue = std::move(f.queue),
                                 .data = std::string{f.data},
                                 .id = std::move(f.id),
                                 .delay_ms = f.delay_ms,
                                 .deliver_at_ms = f.deliver_at_ms,
                                 .cost = cost};
            if (!hook_produce(c, p)) produced_.push_back(std::move(p));
            return;
        }
        case FrameType::consume:
            if (refused(c, Action::consume, f)) return;
            // Each subscription costs memory in two maps: one connection may not hold them
            // without bound (100,000 queues were about 60 MB).
            if (c.queues.size() >= options_.max_subscriptions && !c.queues.contains(f.queue)) {
                answer([&](std::string& out) {
                    encode_error(out, f.ref, Errc::too_many_subscriptions,
                                 "this connection consumes " + std::to_string(c.queues.size()) +
                                     " queues, the most --max-subscriptions allows");
                });
                return;
            }
            sessions_.subscribe(c, f.queue);
            // A resume: what the client missed comes from the store first; live messages
            // wait behind it (deliver() holds them while the queue is replaying).
            // It comes a page at a time, each once the one before it is written.
            if (f.from && !c.replaying.contains(f.queue)) {
                const std::uint64_t id = ++c.replays;
                c.replaying[f.queue].id = id;
                c.reads.push_back({.queue = f.queue, .from = f.from, .replay = id});
                pump_reads(c);
                update_reading(c);
            }
            // A first consume learns where the stream stands (ack "next"), so that after a
            // drop the client resumes from there and gets what came while it was away.
            if (f.ref && f.from)
                answer([&](std::string& out) { encode_ack(out, *f.ref); });
            else if (f.ref)
                router_.where(c.serial, *f.ref, f.queue);
            return;
        case FrameType::fetch:
            if (refused(c, Action::fetch, f)) return;
            // Its page, of at most page_bytes_, is read when the outbox has room for it.
            c.reads.push_back({.fetch = true,
                               .queue = std::move(f.queue),
                               .ref = f.ref,
                               .from = f.from,
                               .since_ms = f.since_ms,
                               .limit = f.limit});
            pump_reads(c);
            update_reading(c);
            return;
        case FrameType::unconsume:
            sessions_.unsubscribe(c, f.queue);
            c.replaying.erase(f.queue);
            std::erase_if(c.reads,
                          [&](const PendingRead& r) { return !r.fetch && r.queue == f.queue; });
            if (f.ref) answer([&](std::string& out) { encode_ack(out, *f.ref); });
            return;
        case FrameType::ping:
            answer([&](std::string& out) { encode_pong(out, f.ref.value_or(0)); });
            return;
    }
}

namespace {

std::int64_t now_s() {
    return now_ms() / 1000;
}

// The close that goes with a failed admission: the token errors end the connection.
bool closes(Errc code) {
    return code == Errc::token_required || code == Errc::token_invalid ||
           code == Errc::token_expired || code == Errc::bad_session;
}

}  // namespace

void HttpServer::handle_hello(Connection& c, ClientFrame& f) {
    assert(access_ && secrets_ && "HttpServer::secure() was not called");
    auto refuse = [&](Errc code, std::string detail) {
        ++stats_.bad_frames;
        auto frame = new_frame();
        encode_error(*frame, f.ref, code, detail);
        send_frame(c, std::move(frame));
        if (closes(code)) close_connection(c, static_cast<int>(code), error_info(code).name);
    };
    if (!c.session.empty()) return refuse(Errc::bad_frame, "hello was already sent on this connection");
    auto admitted = access_->admit(f.token, now_s());
    if (!admitted) {
        ++stats_.auth_refused;
        return refuse(admitted.error().code, admitted.error().detail);
    }
    c.admission = std::move(*admitted);
    // A resume shows the secret the edge gave the session, for the same user. A failure
    // touches nothing: the session's owner, if any, stays connected.
    std::string session = std::move(f.session);
    if (!session.empty() && !secrets_->check(session, c.admission.user, f.secret)) {
        ++stats_.resume_refused;
        c.admission = {};
        return refuse(Errc::bad_session,
                      f.secret.empty() ? "a resume needs the session's secret (welcome.secret)"
                                       : "the secret is not this session's, or the session "
                                         "belongs to another user");
    }
    // A resume with the session's secret resumes it even when this edge forgot it (after a
    // restart): its id, its messages in the store and its nodes are the same.
    const bool resuming = !session.empty();
    if (session.empty()) session = new_session_id();
    if (!hook_connect(c, session, resuming, f.ref)) welcome(c, session, resuming);
}

void HttpServer::welcome(Connection& c, const std::string& session, bool resuming) {
    const Sessions::Bound bound = sessions_.bind(c, session);
    sessions_count_ = sessions_.session_count();
    if (bound.replaced)
        close_connection(*bound.replaced, static_cast<int>(Errc::session_replaced),
                         "session_replaced");
    const bool resumed = bound.resumed || resuming;
    make_hook_client(c);
    auto frame = new_frame();
    encode_welcome(*frame, session, resumed, options_.max_frame,
                   secrets_->issue(session, c.admission.user), c.admission.user,
                   c.admission.expires_s);
    send_frame(c, std::move(frame));
    // A reconnect that took over a live connection is not news to the nodes.
    if (!bound.replaced) router_.client_connected(session, c.admission.user, resumed);
}

void HttpServer::handle_refresh(Connection& c, ClientFrame& f) {
    auto next = access_->refresh(f.token, c.admission, now_s());
    auto frame = new_frame();
    if (!next) {
        ++stats_.bad_frames;
        ++stats_.auth_refused;
        // The connection goes on under its current token, which still ends at its expiry.
        encode_error(*frame, f.ref, next.error().code, next.error().detail);
    } else {
        c.admission = std::move(*next);
        encode_ack(*frame, f.ref.value_or(0));
    }
    if (next || f.ref) send_frame(c, std::move(frame));
}

bool HttpServer::refused(Connection& c, Action action, const ClientFrame& f) {
    if (c.admission.may(action, f.queue)) return false;
    ++stats_.bad_frames;
    ++stats_.not_granted;
    static constexpr const char* kVerb[] = {"produce to", "consume", "fetch from"};
    auto frame = new_frame();
    encode_error(*frame, f.ref, Errc::not_granted,
                 std::string{"the token does not let this connection "} +
                     kVerb[static_cast<int>(action)] + " \"" + f.queue + "\"");
    send_frame(c, std::move(frame));
    return true;
}

void HttpServer::send_frame(Connection& c, std::shared_ptr<std::string> frame) {
    if (c.close_code) return;
    const std::size_t size = payload_size(*frame);
    c.out_bytes += size;
    c.queued_total += size;
    outbox_total_ += size;
    bytes_since_trim_ += size;
    c.out.push_back(std::move(frame));
    // The edge's outboxes together past their budget: the slow ones among them go.
    if (c.out_bytes > options_.max_outbox ||
        (outbox_total_ > options_.max_outbox_total && c.out_bytes > options_.max_outbox / 4)) {
        // It reads slower than it is sent to: drop it rather than let it eat the edge's memory.
        ++stats_.slow_closed;
        c.out.clear();
        outbox_total_ -= c.out_bytes;
        c.out_bytes = 0;
        close_connection(c, static_cast<int>(Errc::slow_consumer), "slow_consumer");
        return;
    }
    lws_callback_on_writable(static_cast<lws*>(c.wsi));
}

void HttpServer::close_connection(Connection& c, int code, std::string_view reason) {
    if (c.close_code) return;
    c.close_code = code;
    // The socket sends the close after what waits in c.out, and waits for the client's.
    if (ClientSocket* socket = socket_of(c))
        socket->close(static_cast<std::uint16_t>(code), reason);
}

// --- answers from the mesh side ---------------------------------------------------------------

void HttpServer::drain_inbox() {
    std::vector<ClientBound> events;
    std::vector<HandedOn> handed_on;
    std::vector<std::function<void()>> posted;
    {
        std::lock_guard lock{inbox_mutex_};
        events.swap(inbox_);
        handed_on.swap(handed_on_);
        posted.swap(posted_);
    }
    for (const HandedOn& p : handed_on) produce_answered(p.connection, p.cost);
    for (auto& event : events) deliver(event);
    for (auto& fn : posted) fn();
}

void HttpServer::deliver(ClientBound& event) {
    using Kind = ClientBound::Kind;
    switch (event.kind) {
        case Kind::ack:
        case Kind::error: {
            if (plugin_answered(event)) return;
            if (event.produced) produce_answered(event.connection, event.produced);
            Connection* c = sessions_.find(event.connection);
            // A frame without ref asked for no ack; a failure is reported all the same.
            if (c && (event.kind == Kind::error || event.ref)) {
                auto frame = new_frame();
                if (event.kind == Kind::ack)
                    encode_ack(*frame, *event.ref, event.id, event.next);
                else
                    encode_error(*frame, event.ref, event.code, event.detail);
                send_frame(*c, std::move(frame));
            }
            if (event.page) page_arrived(c);
            return;
        }
        case Kind::direct: {
            Connection* c = sessions_.connection_of(event.session);
            if (!c) return;  // offline: it is in the store, and comes with the next resume
            auto frame = new_frame();
            encode_message(*frame, event.queue, event.id, event.data, event.ts, event.offset);
            count_queue(out_to_browsers_, event.queue);
            if (!hook_deliver(*c, event, frame)) send_live(*c, event.queue, event.offset, std::move(frame));
            return;
        }
        case Kind::user:
        case Kind::fanout: {
            // One frame, shared by every receiver: a user's live connections, or the queue's.
            auto frame = new_frame();
            encode_message(*frame, event.queue, event.id, event.data, event.ts, event.offset);
            const auto send = [&](Connection& c) {
                if (!hook_deliver(c, event, frame)) send_live(c, event.queue, event.offset, frame);
            };
            count_queue(out_to_browsers_, event.queue);  // once per message, not per receiver
            if (event.kind == Kind::user)
                sessions_.for_each_connection_of_user(event.user, send);
            else
                sessions_.for_each_subscriber(event.queue, send);
            return;
        }
        case Kind::fetched: {
            Connection* c = sessions_.find(event.connection);
            if (c && event.ref) {
                std::vector<FetchedMessage> messages;
                messages.reserve(event.messages.size());
                for (const auto& m : event.messages)
                    messages.push_back({m.id, m.offset, m.data, m.ts});
                auto frame = new_frame();
                encode_fetched(*frame, *event.ref, event.queue, messages, event.next);
                send_frame(*c, std::move(frame));
            }
            return page_arrived(c);
        }
        case Kind::replay:
            return replayed(event);
        case Kind::admin:
            return publish_admin(*event.admin);
    }
}

void HttpServer::send_live(Connection& c, const std::string& queue, std::int64_t offset,
                           std::shared_ptr<std::string> frame) {
    auto replaying = c.replaying.find(queue);
    if (replaying == c.replaying.end()) return send_frame(c, std::move(frame));
    Replay& r = replaying->second;
    r.held_bytes += payload_size(*frame);
    r.held.emplace_back(offset, std::move(frame));
    if (r.held_bytes <= options_.max_outbox / 2) return;
    // A replay slower than the live stream: the stored messages held are let go, and the
    // replay reads on until it has them (they are in the store); only unstored ones stay.
    std::erase_if(r.held, [](const auto& held) { return held.first > 0; });
    r.held_bytes = 0;
    for (const auto& held : r.held) r.held_bytes += payload_size(*held.second);
    r.dropped = true;
}

void HttpServer::replayed(ClientBound& event) {
    Connection* c = sessions_.find(event.connection);
    if (!c) return page_arrived(nullptr);
    auto replaying = c->replaying.find(event.queue);
    // Unconsumed meanwhile, or consumed again since: another replay reads that one.
    if (replaying == c->replaying.end() || replaying->second.id != event.replay)
        return page_arrived(c);
    if (event.gap_to > 0) {
        auto frame = new_frame();
        encode_gap(*frame, event.queue, event.gap_from, event.gap_to);
        send_frame(*c, std::move(frame));
    }
    std::int64_t last = event.next - 1;
    for (const auto& m : event.messages) {
        auto frame = new_frame();
        encode_message(*frame, event.queue, m.id, m.data, m.ts, m.offset);
        send_frame(*c, std::move(frame));
    }
    if (event.more || replaying->second.dropped) {
        // The next page, once this one is written (pump_reads).
        replaying->second.dropped = false;
        c->reads.push_back({.queue = event.queue, .from = event.next, .replay = event.replay});
        return page_arrived(c);
    }
    // Caught up: the live messages that waited, minus those the replay already carried.
    auto held = std::move(replaying->second.held);
    c->replaying.erase(replaying);
    for (auto& [offset, frame] : held)
        if (offset == 0 || offset > last) send_frame(*c, std::move(frame));
    page_arrived(c);
}

// --- timers ---------------------------------------------------------------------------------

void HttpServer::schedule_sweep() {
    lws_sul_schedule(
        context_, 0, &sweep_timer_->sul,
        [](lws_sorted_usec_list_t* sul) { reinterpret_cast<SweepTimer*>(sul)->server->sweep(); },
        kSweepEvery);
}

void HttpServer::sweep() {
    const auto now = Clock::now();
    const std::int64_t now_seconds = now_s();
    sessions_.for_each_connection([&](Connection& c) {
        if (c.session.empty() && now - c.opened > options_.hello_timeout)
            close_connection(c, static_cast<int>(Errc::hello_timeout), "hello_timeout");
        // A token ends the connection at its exp unless a refresh replaced it in time.
        if (c.admission.expires_s > 0 && c.admission.expires_s <= now_seconds && !c.close_code) {
            ++stats_.expired_closed;
            close_connection(c, static_cast<int>(Errc::token_expired), "token_expired");
        }
    });
    if (auto gone = sessions_.expire(now, options_.session_ttl); !gone.empty())
        router_.sessions_expired(std::move(gone));
    sessions_count_ = sessions_.session_count();
    admin_.sweep(now);
    limits_.sweep(now);
    for (ClientSocket* socket : sockets_) socket->sweep(now);  // timeouts, idle pings
    if (admin_.begin(now)) start_admin_snapshot();
    trim_when_idle();
    schedule_sweep();
}

// --- the admin page ---------------------------------------------------------------------------

namespace {

// store.db with the write-ahead log and its index, as they stand on disk.
std::int64_t store_bytes(const std::string& data_dir) {
    std::int64_t total = 0;
    for (const char* name : {"store.db", "store.db-wal", "store.db-shm"}) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(std::filesystem::path{data_dir} / name, ec);
        if (!ec) total += static_cast<std::int64_t>(size);
    }
    return total;
}

}  // namespace

void HttpServer::start_admin_snapshot() {
    auto s = std::make_shared<AdminSnapshot>();
    s->at_ms = now_ms();
    s->started_ms = started_ms_;
    s->edge_name = options_.name;
    s->http = options_.http;
    s->sessions = sessions_.session_count();
    s->connections = sessions_.connection_count();
    s->max_connections = limits_.max_connections();
    s->connections_refused = limits_.stats().refused_total + limits_.stats().refused_per_ip;
    const auto now = Clock::now();
    sessions_.for_each_connection([&](Connection& c) {
        if (c.session.empty() || s->clients.size() >= kAdminMaxClients) return;
        const auto connected = std::chrono::duration_cast<std::chrono::seconds>(now - c.opened);
        s->clients.push_back({.session = c.session,
                              .user = c.admission.user,
                              .queues = {c.queues.begin(), c.queues.end()},
                              .connected_s = connected.count(),
                              .outbox_bytes = c.out_bytes});
    });
    s->store_bytes = store_bytes(options_.data_dir);
    s->out_to_browsers = out_to_browsers_;
    router_.admin_snapshot(std::move(s));
}

void HttpServer::publish_admin(const AdminSnapshot& snapshot) {
    admin_.publish(encode_admin_snapshot(snapshot, admin_rates_.update(snapshot), kVersion));
}

}  // namespace adashta::edge
