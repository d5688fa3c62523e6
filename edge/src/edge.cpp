#include "edge.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <unordered_map>

#include <unistd.h>

#include "adashta/log.hpp"
#include "adashta/store/queue_settings.hpp"
#include "adashta/store/store.hpp"
#include "adashta/version.hpp"
#include "access.hpp"
#include "http_server.hpp"
#include "plugin_gate.hpp"
#include "plugin_services.hpp"
#include "plugin_state.hpp"
#include "resume_secrets.hpp"
#include "router.hpp"

namespace adashta::edge {

namespace {

// Whether HOST:PORT names a loopback address only.
bool loopback_host(const std::string& address) {
    const std::string host = address.substr(0, address.rfind(':'));
    return host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1";
}

// The data folder must exist (it is created) and take writes: durable state lives there.
Status check_data_dir(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return make_error(Errc::bad_option,
                          "cannot create data folder \"" + dir + "\": " + ec.message());
    if (!fs::is_directory(dir, ec))
        return make_error(Errc::bad_option, "data folder \"" + dir + "\" is not a directory");
    const fs::path probe = fs::path{dir} / ".adashta-write-check";
    {
        errno = 0;
        std::ofstream out{probe};
        if (!(out << "ok"))
            return make_error(Errc::bad_option,
                              "data folder \"" + dir + "\" is not writable (" +
                                  (errno ? std::strerror(errno) : "write failed") +
                                  "); give --data a folder this user may write to");
    }
    fs::remove(probe, ec);
    return {};
}

void append_metric(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help, std::uint64_t value) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

}  // namespace

class Edge::Impl {
public:
    explicit Impl(EdgeOptions options)
        : options_(std::move(options)),
          router_(http_),
          http_(
              options_, router_, [this] { return health(); }, [this] { return metrics(); }),
          services_(router_, http_),
          plugins_(std::make_unique<PluginGate>(options_)) {}

    ~Impl() {
        // The plugins first: their last answers may still post to the HTTP thread's inbox.
        http_.drop_plugins();
        if (mesh_) mesh_->stop();
        router_.set_plugins(nullptr);
        stop_plugins();
        // The mesh first (nothing new comes in), then the store (it finishes what it has and
        // may still answer through the Router into the HttpServer), then the rest.
        if (mesh_) mesh_->stop();
        store_.reset();
    }

    Status start() {
        auto access = Access::make(options_);
        if (!access) return access.error();
        access_ = std::move(*access);
        // HTTP first: it checks the address and app folder before anything is created on disk.
        if (auto ok = http_.start(); !ok) return ok;
        if (auto ok = check_data_dir(options_.data_dir); !ok) return ok;
        write_pid_file();

        store::StoreOptions store_options{
            .path = (std::filesystem::path{options_.data_dir} / "store.db").string(),
            .durable = options_.durable,
            .max_bytes = options_.max_store_bytes};
        // At-most-once queues ("durable": false) are the router's alone; the store never
        // sees them.
        std::unordered_map<std::string, store::QueueSettings> at_most_once;
        if (!options_.config.empty()) {
            auto queues = store::load_queue_settings(options_.config);
            if (!queues) return queues.error();
            for (auto& [name, settings] : *queues) {
                if (settings.durable)
                    store_options.queues.emplace(name, std::move(settings));
                else
                    at_most_once.emplace(name, std::move(settings));
            }
        }
        auto opened = store::Store::open(std::move(store_options), router_);
        if (!opened) return opened.error();
        store_ = std::move(*opened);
        // Plugins' state is read now, before the store's thread starts: loading a plugin
        // then never waits for it.
        plugin_state_ = std::make_unique<PluginState>(*store_);
        if (auto ok = plugin_state_->preload(); !ok) return ok;
        services_.use_state(plugin_state_.get());
        // After the store: its checks say what is wrong with a data folder more precisely.
        auto secrets =
            ResumeSecrets::open((std::filesystem::path{options_.data_dir} / "session.key").string());
        if (!secrets) return secrets.error();
        secrets_ = std::move(*secrets);
        http_.secure(access_, *secrets_);
        mesh::MeshOptions mesh_options{
            .bind = "tcp://" + options_.mesh,
            .advertise = options_.advertise,
            .seeds = options_.seeds,
            .beacon_interface = options_.beacon_interface,
            .beacon_port = options_.beacon_port,
            .role = wire::Role::Edge,
            .name = options_.name,
            .heartbeat = options_.heartbeat,
            .peer_timeout = options_.peer_timeout,
            .limits = {.high_water_mark = options_.mesh_queue},
            .key_file = options_.mesh_key,
            .secret_key = options_.mesh_secret,
            .allow_file = options_.mesh_allow,
        };
        const bool curve = !options_.mesh_key.empty() || !options_.mesh_secret.empty();
        if (!curve && !loopback_host(options_.mesh)) {
            if (options_.require_curve)
                return make_error(Errc::mesh_insecure,
                                  "--mesh " + options_.mesh +
                                      " is reachable beyond loopback and --require-curve is set");
            log::warn("edge", "THE MESH IS OPEN: " + options_.mesh +
                                  " listens beyond loopback without CURVE, so anyone who can "
                                  "reach it can join as a server node and read every message. "
                                  "Give --mesh-key and --mesh-allow (docs/security.md), or "
                                  "--require-curve to refuse to start like this");
        }
        mesh_ = std::make_unique<mesh::Mesh>(std::move(mesh_options), router_);
        router_.attach(*mesh_, *store_, std::move(at_most_once));
        // Before the mesh starts: on_produce sees the first node message.
        plugins_->on_install([this](std::shared_ptr<plugins::Chain> chain) {
            if (mesh_started_)
                router_.use_plugins(chain);
            else
                router_.set_plugins(chain);
            http_.use_plugins(std::move(chain));
        });
        if (auto ok = plugins_->load(&services_); !ok) return ok;
        mesh_started_ = true;
        if (auto ok = mesh_->start(); !ok) {
            mesh_.reset();
            return ok;
        }
        store_->start();  // its first batch may hand out overdue messages: the mesh is up
        return {};
    }

    void run() {
        http_.run();  // serves, then drains the clients (steps 1 to 4)
        const auto deadline = http_.drain_deadline();
        finish_handed_work(deadline);
        // The chain goes with the last of its holders: the HTTP thread's copy (this thread),
        // the mesh thread's once that thread is gone, then the gate's, which unloads it.
        http_.drop_plugins();
        if (mesh_) mesh_->stop();  // 5: Bye to every peer, which drops this edge at once
        router_.set_plugins(nullptr);
        stop_plugins();            // the plugins' saves go to the store before it closes
        store_.reset();            // 6: commits what is queued, then closes the database
        remove_pid_file();
        const auto over = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - (deadline - options_.drain_timeout));
        log::info("edge", "stopped " + std::to_string(over.count()) +
                              " ms after the stop was asked: left the mesh, store closed");
    }

    void request_stop() { http_.request_stop(); }
    // DATA/edge.pid: how `adashta plugin reload` finds the edge to send SIGHUP to.
    void write_pid_file() const {
        std::ofstream out{std::filesystem::path{options_.data_dir} / "edge.pid", std::ios::trunc};
        out << ::getpid() << "\n";
    }
    void remove_pid_file() const {
        std::error_code ec;
        std::filesystem::remove(std::filesystem::path{options_.data_dir} / "edge.pid", ec);
    }
    Status reload_plugins() {
        std::lock_guard lock{plugins_mutex_};
        if (!plugins_) return make_error(Errc::bad_option, "the edge is stopping: no reload");
        return plugins_->reload();
    }
    // Unloads the plugins (their answers still reach the mesh and the HTTP thread); the
    // store they save state to is open yet.
    void stop_plugins() {
        std::lock_guard lock{plugins_mutex_};
        plugins_.reset();
        // What they saved is handed to the store, which is still open.
        services_.use_state(nullptr);
        plugin_state_.reset();
    }

    // What the nodes sent before the drain ended (acks above all) reaches the store, and
    // what its commits hand out reaches the nodes, before the mesh goes: else it waits for
    // a visibility timeout after the restart. Bounded by the drain's deadline.
    void finish_handed_work(std::chrono::steady_clock::time_point deadline) {
        if (!mesh_ || !store_) return;
        auto settled = std::make_shared<std::promise<void>>();
        auto future = settled->get_future();
        router_.settle([settled] { settled->set_value(); });
        if (future.wait_until(deadline) != std::future_status::ready)
            log::warn("edge", "drain: the mesh and store did not finish the work they had "
                              "before the drain timeout; nodes get what they did not ack again "
                              "after the queue's visibility timeout");
    }

    // Authentication off is for one machine: say so when browsers elsewhere can reach us.
    void warn_if_open() const {
        const std::string host = options_.http.substr(0, options_.http.rfind(':'));
        const bool loopback = host == "127.0.0.1" || host == "localhost" || host == "[::1]" ||
                              host == "::1" || host.starts_with("127.");
        if (access_.mode() == AuthMode::off && !loopback)
            log::warn("edge", "authentication is off (--auth off) and browsers can reach " +
                                  options_.http +
                                  ": any page may read and write every queue. Give a token key "
                                  "(--token-secret or --token-public-key) for production; see "
                                  "docs/security.md");
        else
            log::info("edge", "authentication: " + std::string{auth_mode_name(access_.mode())});
    }

    std::string mesh_endpoint() const { return mesh_ ? mesh_->endpoint() : std::string{}; }
    const EdgeOptions& options() const { return options_; }

private:
    std::string health() const {
        std::string out = R"({"status":"ok","version":")";
        out += kVersion;
        out += R"(","nodes":)";
        out += std::to_string(router_.node_count());
        out += R"(,"edges":)";
        out += std::to_string(router_.edge_count());
        out += R"(,"connections":)";
        out += std::to_string(http_.connection_count());
        out += R"(,"sessions":)";
        out += std::to_string(http_.session_count());
        out += "}\n";
        return out;
    }

    std::string metrics() const {
        const HttpStats& h = http_.stats();
        const RouterStats& r = router_.stats();
        std::string out;
        append_metric(out, "adashta_edge_connections", "gauge", "Open WebSocket connections.",
                      http_.connection_count());
        append_metric(out, "adashta_edge_sessions", "gauge", "Sessions known, online or not.",
                      http_.session_count());
        append_metric(out, "adashta_edge_nodes", "gauge", "Live server nodes.",
                      router_.node_count());
        append_metric(out, "adashta_edge_frames_in_total", "counter", "Text frames from clients.",
                      h.frames_in);
        append_metric(out, "adashta_edge_frames_out_total", "counter", "Frames written to clients.",
                      h.frames_out);
        append_metric(out, "adashta_edge_bad_frames_total", "counter", "Client frames refused.",
                      h.bad_frames);
        append_metric(out, "adashta_edge_slow_consumers_total", "counter",
                      "Connections closed for reading too slowly.", h.slow_closed);
        append_metric(out, "adashta_edge_auth_refused_total", "counter",
                      "Hellos and refreshes whose token was missing, invalid or expired.",
                      h.auth_refused);
        append_metric(out, "adashta_edge_resume_refused_total", "counter",
                      "Resumes refused: no secret, or not the session's (or user's).",
                      h.resume_refused);
        append_metric(out, "adashta_edge_not_granted_total", "counter",
                      "Frames refused for a queue the connection's token does not grant.",
                      h.not_granted);
        append_metric(out, "adashta_edge_token_expired_total", "counter",
                      "Connections closed when their token expired.", h.expired_closed);
        append_metric(out, "adashta_edge_origin_refused_total", "counter",
                      "WebSocket upgrades refused for their Origin (403).", h.origin_refused);
        const ConnectionLimitStats& l = http_.limits().stats();
        append_metric(out, "adashta_edge_sockets_open", "gauge",
                      "Browser-listener sockets open: WebSockets, HTTP, refusals under way.",
                      l.open);
        append_metric(out, "adashta_edge_max_connections", "gauge",
                      "--max-connections as served (lowered to fit the descriptor limit).",
                      http_.limits().max_connections());
        append_metric(out, "adashta_edge_connections_refused_total", "counter",
                      "Connections answered 503 at --max-connections.", l.refused_total);
        append_metric(out, "adashta_edge_connections_refused_per_ip_total", "counter",
                      "Connections answered 503 at --max-connections-per-ip.", l.refused_per_ip);
        append_metric(out, "adashta_edge_connections_refused_at_accept_total", "counter",
                      "Refused connections closed at accept (no refusal slot or descriptor).",
                      l.refused_at_accept);
        append_metric(out, "adashta_edge_descriptors_short_total", "counter",
                      "Times the listener found the process nearly out of descriptors.",
                      l.descriptors_short);
        append_metric(out, "adashta_edge_routed_total", "counter",
                      "Client messages handed to nodes.", r.routed);
        append_metric(out, "adashta_edge_no_consumer_total", "counter",
                      "Client messages refused: nobody consumes the queue.", r.no_consumer);
        append_metric(out, "adashta_edge_unavailable_total", "counter",
                      "Client messages refused: no consumer could take them.", r.unavailable);
        append_metric(out, "adashta_edge_node_messages_total", "counter",
                      "Messages from nodes to clients.", r.delivered_in);
        append_metric(out, "adashta_edge_stored_total", "counter",
                      "Client messages committed to the store.", r.stored);
        append_metric(out, "adashta_edge_store_failed_total", "counter",
                      "Messages the store could not take.", r.store_failed);
        append_metric(out, "adashta_edge_forwarded_total", "counter",
                      "Messages of at-most-once queues passed on without storing.", r.forwarded);
        append_metric(out, "adashta_edge_waiting_for_nodes", "gauge",
                      "At-most-once messages waiting for room in a node's mesh queue.",
                      r.waiting);
        append_metric(out, "adashta_edge_waiting_for_store", "gauge",
                      "Browsers' produces waiting for their session's turn into the store.",
                      router_.feed_waiting());
        append_metric(out, "adashta_edge_sessions_waiting_for_store", "gauge",
                      "Sessions with produces waiting for their turn into the store.",
                      router_.feed_sessions());
        append_metric(out, "adashta_edge_acked_total", "counter",
                      "Client messages acknowledged by nodes.", r.acked);
        append_metric(out, "adashta_edge_redelivered_total", "counter",
                      "Client messages sent again after their visibility timeout.", r.redelivered);
        append_metric(out, "adashta_edge_dead_lettered_total", "counter",
                      "Client messages that used up their receives.", r.dead_lettered);
        append_metric(out, "adashta_edge_node_bad_data_total", "counter",
                      "Messages from nodes dropped because their data was not JSON.", r.bad_data);
        if (mesh_) {
            const mesh::MeshStats& m = mesh_->stats();
            append_metric(out, "adashta_mesh_refused_total", "counter",
                          "Mesh Hellos and frames refused: role, id or endpoint not the key's.",
                          m.refused);
            append_metric(out, "adashta_mesh_denied_total", "counter",
                          "Mesh connections and beacons refused: key not allowed, or none.",
                          m.denied);
        }
        {
            std::lock_guard lock{plugins_mutex_};
            if (plugins_) out += plugins_->metrics();
        }
        if (store_) {
            const store::StoreStats& st = store_->stats();
            append_metric(out, "adashta_store_commits_total", "counter",
                          "Store transactions committed (each holds a batch of writes).",
                          st.commits.load());
            append_metric(out, "adashta_store_writes_total", "counter",
                          "Pieces of work committed (messages, acks, queue calls).",
                          st.writes.load());
            append_metric(out, "adashta_store_failed_total", "counter",
                          "Pieces of work that failed or were rolled back.", st.failed.load());
            append_metric(out, "adashta_store_expired_total", "counter",
                          "Rows removed by retention.", st.expired.load());
        }
        return out;
    }

    EdgeOptions options_;
    Access access_;                            // read-only once start() made it
    std::unique_ptr<ResumeSecrets> secrets_;  // likewise
    Router router_;
    HttpServer http_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<mesh::Mesh> mesh_;
    bool mesh_started_ = false;  // set once before the mesh starts (start())
    // Unloaded before the mesh and the store go (stop_plugins); plugins_mutex_ guards the
    // pointer against a reload from the signal thread.
    EdgeServices services_;  // what plugins may do; outlives plugins_
    std::unique_ptr<PluginState> plugin_state_;  // over store_; reset in stop_plugins()
    mutable std::mutex plugins_mutex_;
    std::unique_ptr<PluginGate> plugins_;
};

Edge::Edge(EdgeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Edge::~Edge() = default;

Status Edge::start() {
    const Status started = impl_->start();
    if (started) {
        const bool tls = !impl_->options().tls_cert.empty();
        log::info("edge", std::string{"serving browsers on "} + (tls ? "https://" : "http://") +
                              impl_->options().http +
                              (tls ? " (WebSocket wss /ws)" : " (WebSocket /ws)"));
        log::info("edge", "mesh listening on " + impl_->mesh_endpoint());
        impl_->warn_if_open();
    }
    return started;
}

void Edge::run() {
    impl_->run();
}
void Edge::request_stop() {
    impl_->request_stop();
}
Status Edge::reload_plugins() {
    return impl_->reload_plugins();
}
std::string Edge::http_address() const {
    return impl_->options().http;
}
std::string Edge::mesh_endpoint() const {
    return impl_->mesh_endpoint();
}

}  // namespace adashta::edge
