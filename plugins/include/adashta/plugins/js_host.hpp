// The JavaScript plugin host: a Node.js process (plugins/host/main.mjs) that runs every
// JavaScript plugin of an edge, each in its own worker thread, and the JsPlugin instances
// the plugin chain calls them through.
//
//   auto host = JsHost::start({});                       // bad_plugin: no Node.js 20, no main.mjs
//   auto plugin = (*host)->load(manifest, R"({"greeting":"hi"})");   // bad_plugin: why not
//   (*plugin)->call(CallText{Hook::on_message, subject, data, client}, [](Outcome out) { ... });
//
// Supervision: when the host process dies (a crash, kill -9) it is started again, at once the
// first time and then with a doubling backoff while it keeps dying young; every plugin is
// loaded into the new one, and the calls that had no answer yet are sent to it again, in
// their order (a call is idempotent from the edge's side: nothing was acknowledged to the
// client yet). A call that has waited Options::resend_wait for a host that is not back, or
// was in flight in three hosts that died, fails as Failure::error (the plugin's policy
// decides). The limits per call (callMs, memoryMB) are the host's: a worker over one is
// terminated and started again, the call answered Failure::time or Failure::memory.
//
// Threads: one thread per JsHost ("js-host") owns the child process, the socket to it and
// every call in flight; JsPlugin::call may be called from any thread and only appends to a
// queue under a mutex; every done callback runs on the js-host thread. JsHost and JsPlugin
// share their state, so either may be destroyed first; destroying the JsHost stops the
// process and fails every call still waiting (done still runs exactly once).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "adashta/plugins/manifest.hpp"
#include "adashta/plugins/runtime.hpp"
#include "adashta/plugins/services.hpp"
#include "adashta/result.hpp"

namespace adashta::plugins {

class JsHostCore;

// The host's main.mjs: beside an installed adashta (PREFIX/share/adashta/plugin-host/), or
// in the source tree for a binary of the build tree; $ADASHTA_PLUGIN_HOST overrides both.
std::filesystem::path default_host_script();

class JsPlugin : public PluginInstance {
public:
    ~JsPlugin() override;  // unloads it from the host; calls still waiting fail as error
    const Manifest& manifest() const override { return manifest_; }
    void call(CallText call, std::function<void(Outcome)> done) override;
    // One submission for the batch, answered at once when its last call is.
    void call_batch(std::span<const Call> calls, BatchAnswer done) override;

private:
    friend class JsHost;
    JsPlugin(std::shared_ptr<JsHostCore> core, Manifest manifest, std::uint32_t index)
        : core_(std::move(core)), manifest_(std::move(manifest)), index_(index) {}
    std::shared_ptr<JsHostCore> core_;  // the host it runs in
    Manifest manifest_;                 // what was loaded
    std::uint32_t index_;               // its number in the host's frames
};

class JsHost {
public:
    struct Options {
        std::filesystem::path node = "node";     // Node.js 20 or later (PATH is searched)
        std::filesystem::path script;            // main.mjs; empty: default_host_script()
        std::chrono::milliseconds resend_wait{5000};  // a call waits this long for a dead host
        std::chrono::milliseconds load_wait{30000};   // load() waits this long for the answer
        std::vector<std::filesystem::path> folders;   // plugin folders to allow from the start
                                                      // (another one later restarts the host)
    };

    // Starts the host process and its thread, and waits until it is ready. bad_plugin when
    // Node.js cannot be started or is older than 20, or main.mjs is missing.
    static Result<std::unique_ptr<JsHost>> start(Options options);
    ~JsHost();
    JsHost(const JsHost&) = delete;
    JsHost& operator=(const JsHost&) = delete;

    // Loads a JavaScript plugin (manifest.runtime js) with its config (JSON, already checked
    // against the schema) and waits until its entry ran in its worker. bad_plugin with the
    // file and what to change when it does not load (a syntax error, a missing hook, an
    // import the sandbox refuses, its top level over its limits). A folder the host cannot
    // read yet restarts the host with the folder allowed (calls in flight are sent again).
    //
    // services (not owned, outlives the plugin; may be null: adashta.produce and
    // adashta.state then raise "this edge gives plugins no services") serve the plugin's
    // produce and state. With the "store" permission its state is read here with
    // load_state (bad_plugin when it cannot be) and sent with the load; the host's main
    // thread keeps the plugin's copy for a worker that restarts, and a host that restarts
    // gets load_state's again. The js-host thread calls produce and save_state for the
    // host's 'P' and 'S' frames (never waiting on them) and load_state for a new host.
    Result<std::unique_ptr<JsPlugin>> load(const Manifest& manifest, std::string_view config,
                                           PluginServices* services = nullptr);

    pid_t pid() const;          // the host process now, 0 between a death and the restart
    int restarts() const;       // how many times the host was started again
    std::string node_version() const;  // "v20.20.2", of the first host

private:
    explicit JsHost(std::shared_ptr<JsHostCore> core) : core_(std::move(core)) {}
    std::shared_ptr<JsHostCore> core_;
};

}  // namespace adashta::plugins
