// A PluginServices that records what plugins produce and save, for the binding tests: the
// state is kept in memory per plugin, every save in order, every produce answered at once
// (ok, or refuse when set).
//
//   RecordingServices services;
//   auto plugin = LuaPlugin::load(manifest, "", &services);
//   services.wait_for([&] { return services.produced.size() == 1; });
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "adashta/plugins/services.hpp"

namespace adashta::test {

struct RecordingServices : plugins::PluginServices {
    struct Save {
        std::string plugin;
        std::string key;
        std::optional<std::string> value;
    };
    std::mutex mutex;                   // guards everything below; any thread
    std::condition_variable changed;    // a produce or a save came
    std::vector<plugins::PluginProduce> produced;                    // in the order taken
    std::map<std::string, std::map<std::string, std::string>> state;  // plugin → key → JSON
    std::vector<Save> saves;                                          // in the order made
    int loads = 0;                      // load_state calls
    std::optional<Error> refuse;        // produce answers this instead of ok

    void produce(plugins::PluginProduce message, std::function<void(const Status&)> done) override {
        std::optional<Error> answer;
        {
            std::lock_guard lock(mutex);
            produced.push_back(std::move(message));
            answer = refuse;
        }
        changed.notify_all();
        if (done) done(answer ? Status{*answer} : Status{});
    }
    Result<std::vector<std::pair<std::string, std::string>>> load_state(const std::string& plugin) override {
        std::lock_guard lock(mutex);
        ++loads;
        const auto& kept = state[plugin];
        return std::vector<std::pair<std::string, std::string>>(kept.begin(), kept.end());
    }
    void save_state(const std::string& plugin, std::string key, std::optional<std::string> value) override {
        {
            std::lock_guard lock(mutex);
            if (value) state[plugin][key] = *value;
            else state[plugin].erase(key);
            saves.push_back(Save{plugin, std::move(key), std::move(value)});
        }
        changed.notify_all();
    }
    // Waits (at most 30 s) until done() holds, with the mutex held while it is asked.
    template <class Done>
    bool wait_for(Done done) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, std::chrono::seconds(30), done);
    }
};

}  // namespace adashta::test
