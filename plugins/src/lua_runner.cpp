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
    // A batch of one that keeps its own texts until it is answered.
    struct One {
        CallText text;
        Call view;
    };
    auto one = std::make_shared<One>();
    one->text = std::move(call);
    one->view = one->text.view();
    const std::span<const Call> calls{&one->view, 1};
    call_batch(calls, [one = std::move(one), done = std::move(done)](std::span<Outcome> outcomes) {
        done(std::move(outcomes[0]));
    });
}

void LuaRunner::call_batch(std::span<const Call> calls, BatchAnswer done) {
    bool was_empty = false;
    {
        std::lock_guard lock(mutex_);
        was_empty = queue_.empty();
        queue_.push_back(Pending{calls, std::move(done)});
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
        const auto run_one = [&](const Call& call) {
            if (!stopping) return plugin_->call(call);
            Outcome out;
            out.failure = Failure::error;
            out.error = "the plugin was unloaded before this call ran";
            return out;
        };
        for (Pending& next : batch) {
            outcomes_.clear();
            for (const Call& call : next.calls) outcomes_.push_back(run_one(call));
            next.done(outcomes_);
        }
        batch.clear();
    }
}

}  // namespace adashta::plugins
