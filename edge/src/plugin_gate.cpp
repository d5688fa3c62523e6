#include "plugin_gate.hpp"

#include <algorithm>
#include <fstream>

#include "adashta/json.hpp"

#include "adashta/log.hpp"
#include "adashta/plugins/plugin_set.hpp"
#include "edge.hpp"

namespace adashta::edge {

namespace fs = std::filesystem;

PluginGate::PluginGate(const EdgeOptions& options)
    : config_(options.config),
      plugins_dir_(options.plugins_dir.empty() ? fs::path{options.data_dir} / "plugins"
                                               : fs::path{options.plugins_dir}),
      status_file_(fs::path{options.data_dir} / "plugins-reload.json") {}

PluginGate::~PluginGate() {
    {
        std::lock_guard lock{mutex_};
        stopping_ = true;
    }
    retired_cv_.notify_all();
    if (retirer_.joinable()) retirer_.join();
    // The chains before the host their JavaScript plugins run in.
    retired_.clear();
    chain_.reset();
    js_.reset();
}

Result<std::unique_ptr<plugins::PluginInstance>> PluginGate::load_js(
    const plugins::Manifest& manifest, std::string_view config) {
    // Under mutex_ only for js_: loading waits for the host, which needs no lock of ours.
    plugins::JsHost* host = nullptr;
    {
        std::lock_guard lock{mutex_};
        if (!js_) {
            auto started = plugins::JsHost::start({.folders = {manifest.folder}});
            if (!started) return started.error();
            js_ = std::move(*started);
            log::info("edge", "plugin host started (Node.js " + js_->node_version() + ")");
        }
        host = js_.get();
    }
    auto plugin = host->load(manifest, config, services_);
    if (!plugin) return plugin.error();
    return std::unique_ptr<plugins::PluginInstance>{std::move(*plugin)};
}

Result<std::shared_ptr<plugins::Chain>> PluginGate::load_from_config() {
    auto entries = plugins::read_plugin_entries(config_);
    if (!entries) return entries.error();
    if (entries->empty()) return std::shared_ptr<plugins::Chain>{};
    auto chain = plugins::load_chain(
        *entries, plugins_dir_,
        [this](const plugins::Manifest& m, std::string_view config) { return load_js(m, config); },
        {}, services_);
    if (!chain) return chain.error();
    for (std::size_t i = 0; i < (*chain)->size(); ++i)
        log::info("edge", "plugin " + (*chain)->stats(i).name + " loaded");
    return std::shared_ptr<plugins::Chain>{std::move(*chain)};
}

Status PluginGate::load(plugins::PluginServices* services) {
    services_ = services;
    auto chain = load_from_config();
    if (!chain) return chain.error();
    {
        std::lock_guard lock{mutex_};
        chain_ = *chain;
    }
    if (installed_) installed_(*chain);
    return {};
}

Status PluginGate::reload() {
    auto chain = load_from_config();
    std::shared_ptr<plugins::Chain> old;
    std::uint64_t number = 0;
    {
        std::lock_guard lock{mutex_};
        if (!chain) {
            ++reload_failures_;
        } else {
            ++reloads_;
            old = std::exchange(chain_, *chain);
        }
        number = reloads_ + reload_failures_;
    }
    if (!chain) {
        log::error("edge", "plugin reload failed, the plugins loaded before stay: " +
                               chain.error().to_string());
        write_status(number, chain.error(), {});
        return chain.error();
    }
    write_status(number, {}, *chain);
    if (installed_) installed_(*chain);
    log::info("edge", "plugins reloaded: " + std::to_string(*chain ? (*chain)->size() : 0) +
                          " in place");
    if (old) retire(std::move(old));
    return {};
}

void PluginGate::write_status(std::uint64_t number, const Status& outcome,
                              const std::shared_ptr<plugins::Chain>& chain) const {
    std::string text = "{\"reload\":" + std::to_string(number) +
                       ",\"ok\":" + (outcome ? "true" : "false");
    if (!outcome) text += ",\"error\":" + json::quote(outcome.error().to_string());
    text += ",\"plugins\":[";
    for (std::size_t i = 0; chain && i < chain->size(); ++i)
        text += (i ? "," : "") + json::quote(chain->stats(i).name);
    text += "]}\n";
    // Whole or not at all: the reader never sees half a file.
    const fs::path temporary = status_file_.string() + ".tmp";
    std::ofstream out{temporary, std::ios::trunc};
    out << text;
    out.close();
    std::error_code ec;
    if (out) fs::rename(temporary, status_file_, ec);
    if (!out || ec)
        log::warn("edge", "could not write " + status_file_.string() +
                              ": `adashta plugin reload` will not see this reload's outcome");
}

std::shared_ptr<plugins::Chain> PluginGate::chain() const {
    std::lock_guard lock{mutex_};
    return chain_;
}

namespace {

bool idle(const plugins::Chain& chain) {
    for (std::size_t i = 0; i < chain.size(); ++i)
        if (chain.stats(i).in_flight.load() > 0) return false;
    return true;
}

}  // namespace

void PluginGate::retire(std::shared_ptr<plugins::Chain> chain) {
    std::lock_guard lock{mutex_};
    retired_.push_back({std::move(chain), std::chrono::steady_clock::now() + kRetireWait});
    if (!retirer_.joinable()) retirer_ = std::thread{[this] { run_retirer(); }};
    retired_cv_.notify_all();
}

void PluginGate::run_retirer() {
    std::unique_lock lock{mutex_};
    while (!stopping_) {
        // The HTTP and mesh threads drop their copies when the new chain reaches them; a
        // chain nobody else holds and with nothing in flight goes now.
        std::vector<std::shared_ptr<plugins::Chain>> done;
        const auto now = std::chrono::steady_clock::now();
        std::erase_if(retired_, [&](Retired& r) {
            if (r.chain.use_count() > 1 || (!idle(*r.chain) && now < r.by)) return false;
            done.push_back(std::move(r.chain));
            return true;
        });
        if (!done.empty()) {
            lock.unlock();
            done.clear();  // unloads the plugins: their threads end, workers go
            lock.lock();
            continue;
        }
        retired_cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
}

std::string PluginGate::metrics() const {
    std::shared_ptr<plugins::Chain> chain;
    std::uint64_t reloads = 0, failures = 0;
    {
        std::lock_guard lock{mutex_};
        chain = chain_;
        reloads = reloads_;
        failures = reload_failures_;
    }
    std::string out;
    out += "# HELP adashta_plugin_reloads_total Plugin reloads that put a new chain in place.\n"
           "# TYPE adashta_plugin_reloads_total counter\nadashta_plugin_reloads_total " +
           std::to_string(reloads) +
           "\n# HELP adashta_plugin_reload_failures_total Plugin reloads refused: the old "
           "plugins stayed.\n# TYPE adashta_plugin_reload_failures_total counter\n"
           "adashta_plugin_reload_failures_total " +
           std::to_string(failures) + "\n";
    if (chain) out += chain->metrics();
    return out;
}

}  // namespace adashta::edge
