// What the edge gives plugins beyond their hooks (plugins/services.hpp): their messages go
// into the edge as a server node's would (Router::plugin_produce: stored, then to browsers)
// or as a browser's would (HttpServer::plugin_produce: to the queue's server nodes), and
// their state is kept by PluginState in the edge's store.
//
// Threads: every call from any thread (the plugins' own); each hands its work to the thread
// that owns what it touches (the mesh thread, the HTTP thread) and returns.
#pragma once

#include <functional>
#include <memory>

#include "adashta/plugins/services.hpp"

namespace adashta::edge {

class HttpServer;
class PluginState;
class Router;

// The largest message a plugin may produce, as a browser's frame (bytes of JSON).
inline constexpr std::size_t kMaxPluginMessage = 1 << 20;

class EdgeServices final : public plugins::PluginServices {
public:
    EdgeServices(Router& router, HttpServer& http) : router_(router), http_(http) {}
    // Where load_state / save_state go, once the store is open (before plugins load); null
    // again before it closes (they then fail, and saves are dropped).
    void use_state(PluginState* state) { state_ = state; }

    void produce(plugins::PluginProduce message, std::function<void(const Status&)> done) override;
    Result<std::vector<std::pair<std::string, std::string>>> load_state(const std::string& plugin) override;
    void save_state(const std::string& plugin, std::string key, std::optional<std::string> value) override;

private:
    Router& router_;
    HttpServer& http_;
    PluginState* state_ = nullptr;  // set before plugins load, cleared after they unload
};

}  // namespace adashta::edge
