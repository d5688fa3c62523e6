// The edge's plugins (docs/plugins.md): the chain loaded from the config file's "plugins",
// the JavaScript plugin host when a JavaScript plugin is among them, and reloading both.
//
//   PluginGate gate{options};
//   if (auto ok = gate.load(&services); !ok) return ok;   // bad_plugin naming file and key
//   auto chain = gate.chain();                             // null: no plugins
//   gate.on_reload([&](std::shared_ptr<plugins::Chain> next) { ... });  // hand it on
//   gate.reload();                                         // SIGHUP, `adashta plugin reload`
//
// Threads: load() before traffic; reload() from one thread at a time (the edge's signal
// thread). The threads that call hooks (HTTP, mesh) keep their own copy of the chain,
// handed to them by the reload callback, so a hook call takes no lock. A chain replaced by
// a reload is retired: the calls in it finish there, and it is destroyed on a thread of its
// own once nothing is in flight in it (or after kRetireWait), never on a plugin's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adashta/plugins/chain.hpp"
#include "adashta/plugins/js_host.hpp"
#include "adashta/plugins/services.hpp"
#include "adashta/result.hpp"

namespace adashta::edge {

struct EdgeOptions;

class PluginGate {
public:
    using Installed = std::function<void(std::shared_ptr<plugins::Chain>)>;
    // A retired chain is destroyed this long after its reload at the latest; calls still
    // in it then are answered as failures (their plugin's policy).
    static constexpr std::chrono::seconds kRetireWait{30};

    explicit PluginGate(const EdgeOptions& options);
    ~PluginGate();
    PluginGate(const PluginGate&) = delete;
    PluginGate& operator=(const PluginGate&) = delete;

    // Reads the config file's "plugins" and loads them in order. bad_option / bad_plugin
    // naming the file, the entry and what to do; nothing is loaded then.
    Status load(plugins::PluginServices* services);
    // Reads the config file again and loads its plugins into a new chain; when every one
    // loaded, installed() gets it and the old chain retires. Else the old chain stays and
    // the error says why. Connections are untouched either way.
    Status reload();
    // Runs with every chain load() or reload() makes, on the caller's thread.
    void on_install(Installed installed) { installed_ = std::move(installed); }

    std::shared_ptr<plugins::Chain> chain() const;
    // adashta_plugin_* lines for /metrics, and the reload counters. Any thread.
    std::string metrics() const;
    // Where installed plugins live: --plugins-dir, else DATA/plugins.
    const std::filesystem::path& plugins_dir() const { return plugins_dir_; }

private:
    Result<std::shared_ptr<plugins::Chain>> load_from_config();
    Result<std::unique_ptr<plugins::PluginInstance>> load_js(const plugins::Manifest& manifest,
                                                            std::string_view config);
    void retire(std::shared_ptr<plugins::Chain> chain);
    // DATA/plugins-reload.json: the last reload's number, outcome and plugins, for
    // `adashta plugin reload` (which sent the SIGHUP) to read.
    void write_status(std::uint64_t number, const Status& outcome,
                      const std::shared_ptr<plugins::Chain>& chain) const;
    void run_retirer();

    std::string config_;                    // the edge's --config file; empty: no plugins
    std::filesystem::path plugins_dir_;     // as above
    std::filesystem::path status_file_;     // DATA/plugins-reload.json
    plugins::PluginServices* services_ = nullptr;  // from load(); outlives the gate
    Installed installed_;                   // set before load()

    mutable std::mutex mutex_;                     // guards the four fields below
    std::shared_ptr<plugins::Chain> chain_;        // the one in place
    std::unique_ptr<plugins::JsHost> js_;          // started with the first JS plugin
    std::uint64_t reloads_ = 0, reload_failures_ = 0;
    struct Retired {
        std::shared_ptr<plugins::Chain> chain;
        std::chrono::steady_clock::time_point by;  // destroyed then at the latest
    };
    std::vector<Retired> retired_;
    bool stopping_ = false;
    std::condition_variable retired_cv_;
    std::thread retirer_;  // destroys retired chains; started at the first reload
};

}  // namespace adashta::edge
