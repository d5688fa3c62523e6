// The plugins' state for the edge: the state half of the PluginServices it gives plugins
// (plugins/include/adashta/plugins/services.hpp: load_state, save_state), over the store's
// plugin_state table (store/include/adashta/store/plugin_rows.hpp).
//
//   PluginState state{*store};
//   (void)state.preload();                              // before store->start(), or else
//   auto rows = state.load("analytics");                // waits for the store the first time
//   state.save("analytics", "views:/", "42");           // returns at once, written behind
//   state.save("analytics", "old", std::nullopt);       // deleted, after the write above
//
// A plugin's keys are read from the store once, at its first load(); from then on the copy
// in memory is the truth: load() answers from it (reloads, a restarted JavaScript host) and
// save() changes it at once, so a load right after a save sees the save even before it is
// on disk. Changes go to the store in the order save() was called, many of them in one
// Store::write (whatever came in while the previous write ran), one write at a time.
// A write the store refuses (a full disk) is logged with how many changes it held; they
// stay in memory, so the plugin goes on seeing them until the edge stops.
//
// The limits (key and value sizes, keys per plugin) are the runtimes' to check
// (plugins::check_state_write); this class takes what it is given.
//
// Threads: any thread may call load() and save() (not the store thread: load() waits for
// it, and so does the destructor). mutex_ guards every member below it; it is never held
// while calling the store, and the store's completions take it only briefly, so the store's
// own lock and this one are never held together by one thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adashta/result.hpp"
#include "adashta/store/store.hpp"

namespace adashta::edge {

class PluginState {
public:
    // store must outlive this object, and be started before load() is called without a
    // preload() (load() then waits for a read).
    explicit PluginState(store::Store& store) : store_(store) {}
    ~PluginState();  // waits until every change was handed to the store and answered
    PluginState(const PluginState&) = delete;
    PluginState& operator=(const PluginState&) = delete;

    // The plugin's keys and values (JSON texts), in key order: from the store the first
    // time (waiting for it), from memory after that. The store's error when it cannot read.
    Result<std::vector<std::pair<std::string, std::string>>> load(const std::string& plugin);
    // Sets key to value (JSON text), or deletes it (nullopt): in memory at once, in the
    // store behind, in the order of the calls. Never waits.
    void save(const std::string& plugin, std::string key, std::optional<std::string> value);
    // Reads every plugin's keys at once, before Store::start() on the thread that opened
    // the store (the edge loads its plugins before the store's first batch): from then on
    // load() never waits, and a plugin without keys starts empty. The store's error when
    // it cannot read.
    Status preload();
    // Waits until every change saved so far has been written (or refused). For tests and
    // for an orderly stop.
    void wait_written();

private:
    struct Change {
        std::string plugin;                // whose
        std::string key;                   // which key
        std::optional<std::string> value;  // its JSON text; nullopt: deleted
    };
    using Keys = std::map<std::string, std::string>;
    void write_queued();  // one Store::write that takes every change queued when it runs

    store::Store& store_;
    std::mutex mutex_;                      // guards everything below
    std::condition_variable written_;       // writing_ became false
    std::map<std::string, Keys> plugins_;   // the plugins loaded: their keys as saved now
    // Changes to plugins not loaded yet: load() lays them over what it reads, since the
    // read may come before or after their write.
    std::map<std::string, std::map<std::string, std::optional<std::string>>> early_;
    std::vector<Change> queued_;            // saved, not yet taken by a store write
    bool writing_ = false;                  // a write of ours is in the store's hands
    bool preloaded_ = false;                // preload() read every plugin: plugins_ is all
};

}  // namespace adashta::edge
