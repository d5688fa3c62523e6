// A Lua plugin on a thread of its own: the PluginInstance the chain calls for runtime "lua".
//
//   auto runner = LuaRunner::start(manifest, config);   // bad_plugin when it does not load
//   (*runner)->call(CallText{...}, [](Outcome out) { ... });   // answered on the runner thread
//
// Threads: the runner thread owns the LuaPlugin and runs the calls one at a time, in the
// order call() queued them; call() may be used from any thread (the queue has a mutex, taken
// by nothing else). A call that is stuck in C code (a pathological string pattern, which no
// count hook interrupts) holds up only this plugin's calls.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "adashta/plugins/lua_plugin.hpp"
#include "adashta/plugins/runtime.hpp"

namespace adashta::plugins {

class LuaRunner final : public PluginInstance {
public:
    // services as LuaPlugin::load's (not owned, outlives the runner, may be null).
    static Result<std::unique_ptr<LuaRunner>> start(const Manifest& manifest, std::string_view config,
                                                    PluginServices* services = nullptr);
    ~LuaRunner() override;  // answers the calls still queued as failures, then joins

    const Manifest& manifest() const override { return plugin_->manifest(); }
    void call(CallText call, std::function<void(Outcome)> done) override;
    // One queue entry for the whole batch; done runs once, on the runner thread, with the
    // runner's own outcome buffer (no allocation per batch once it has grown).
    void call_batch(std::span<const Call> calls, BatchAnswer done) override;

private:
    explicit LuaRunner(std::unique_ptr<LuaPlugin> plugin);
    void run();

    struct Pending {
        std::span<const Call> calls;  // what to run, in order; the caller keeps the texts
        BatchAnswer done;             // who gets their outcomes
    };
    std::unique_ptr<LuaPlugin> plugin_;  // used by the runner thread only (after start)
    std::mutex mutex_;                   // guards queue_ and stopping_
    std::condition_variable wake_;       // a call was queued, or stopping_
    std::deque<Pending> queue_;          // calls not yet run, in order
    std::vector<Outcome> outcomes_;      // the runner thread's: a batch's answers, lent to done
    bool stopping_ = false;              // the destructor runs
    std::thread thread_;                 // the runner thread
};

}  // namespace adashta::plugins
