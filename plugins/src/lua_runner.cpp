#include "adashta/plugins/lua_runner.hpp"

namespace adashta::plugins {

Result<std::unique_ptr<LuaRunner>> LuaRunner::start(const Manifest& manifest, std::string_view config,
                                                    PluginServices* services) {
    auto plugin = LuaPlugin::load(manifest, config, services);
    if (!plugin) return plugin.error();
    return std::unique_ptr<LuaRunner>{new LuaRunner(std::move(*plugin))};
}

LuaRunner::LuaRunner(std::unique_ptr<LuaPlugin> plugin) : plugin_(std::move(plugin)) {
    thread_ = std::thread([this] { run(); });
}

LuaRunner::~LuaRunner() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void LuaRunner::call(CallText call, std::function<void(Outcome)> done) {
    enqueue(Pending{.call = std::move(call), .done = std::move(done)});
}

void LuaRunner::call_batch(std::vector<CallText> calls, std::function<void(std::vector<Outcome>)> done) {
    enqueue(Pending{.batch = std::move(calls), .done_batch = std::move(done)});
}

void LuaRunner::enqueue(Pending pending) {
    bool was_empty = false;
    {
        std::lock_guard lock(mutex_);
        was_empty = queue_.empty();
        queue_.push_back(std::move(pending));
    }
    if (was_empty) wake_.notify_one();  // else the runner has not emptied it yet
}

void LuaRunner::run() {
    std::deque<Pending> batch;  // what one turn takes from the queue, run in order
    for (;;) {
        bool stopping = false;
        {
            std::unique_lock lock(mutex_);
            if (queue_.empty() && !stopping_) {
                wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                // Woken by a first call: let the thread that queued it go on first (when it
                // shares this CPU, it is usually queueing more), so that one turn takes what
                // it queued in one go instead of a thread switch per call. With a CPU to
                // spare the yield returns at once: a call alone waits no longer.
                lock.unlock();
                std::this_thread::yield();
                lock.lock();
            }
            if (queue_.empty()) return;  // stopping, nothing left
            batch.swap(queue_);
            stopping = stopping_;
        }
        const auto run_one = [&](const CallText& call) {
            if (!stopping) return plugin_->call(call.view());
            Outcome out;
            out.failure = Failure::error;
            out.error = "the plugin was unloaded before this call ran";
            return out;
        };
        for (Pending& next : batch) {
            if (!next.done_batch) {
                next.done(run_one(next.call));
                continue;
            }
            std::vector<Outcome> outcomes;
            outcomes.reserve(next.batch.size());
            for (const CallText& call : next.batch) outcomes.push_back(run_one(call));
            next.done_batch(std::move(outcomes));
        }
        batch.clear();
    }
}

}  // namespace adashta::plugins
