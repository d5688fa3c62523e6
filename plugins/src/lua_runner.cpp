#include "adashta/plugins/lua_runner.hpp"

namespace adashta::plugins {

Result<std::unique_ptr<LuaRunner>> LuaRunner::start(const Manifest& manifest, std::string_view config) {
    auto plugin = LuaPlugin::load(manifest, config);
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
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(Pending{std::move(call), std::move(done)});
    }
    wake_.notify_one();
}

void LuaRunner::run() {
    for (;;) {
        Pending next;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, nothing left
            next = std::move(queue_.front());
            queue_.pop_front();
            if (stopping_) {
                lock.unlock();
                Outcome out;
                out.failure = Failure::error;
                out.error = "the plugin was unloaded before this call ran";
                next.done(std::move(out));
                continue;
            }
        }
        next.done(plugin_->call(next.call.view()));
    }
}

}  // namespace adashta::plugins
