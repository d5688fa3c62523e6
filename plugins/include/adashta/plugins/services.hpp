// What the edge offers plugins beyond their hooks (docs/plugins.md, "What a plugin can do"):
// producing messages of their own (permission "produce") and keeping state in the edge's
// store (permission "store"). The edge implements it; the runtimes (Lua, the JavaScript
// host) call it for the plugin code.
//
//   services.produce({.plugin = "presence", .queue = "room.lobby", .data = R"({"here":3})"},
//                    [](const Status& stored) { ... });           // any thread
//   services.save_state("analytics", "views:/index", "42");        // written behind
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::plugins {

// A message a plugin produces. Without to_server it goes to browsers as a server node's
// message would: stored (on a stored queue), then to the session `to`, else every live
// session of `user`, else every consumer of the queue. With to_server it goes to the
// queue's server nodes as a browser's message would, the ring picking the node by
// `session` (the plugin's name when empty).
struct PluginProduce {
    std::string plugin;         // who produces it: logs, metrics, the message's sender
    std::string queue;
    std::string data;           // JSON text
    std::string to;             // a session; empty: not a direct message
    std::string user;           // a user (a token's sub); empty: not for a user
    bool to_server = false;     // to the queue's server nodes instead of browsers
    std::string session;        // to_server: the ring's key; empty: the plugin's name
    std::int64_t delay_ms = 0;  // delivered this much later (a scheduled message)
};

class PluginServices {
public:
    virtual ~PluginServices() = default;
    // Takes the message and returns at once; done (may be empty) gets ok once it is stored
    // (or handed on, for an at-most-once queue) or the error that refused it, on any thread.
    // Messages of one plugin are taken in the order of the calls.
    virtual void produce(PluginProduce message, std::function<void(const Status&)> done) = 0;
    // The plugin's saved state, key → JSON text, as of now (writes not yet on disk
    // included). Any thread; may wait for the store at an edge's start.
    virtual Result<std::vector<std::pair<std::string, std::string>>> load_state(
        const std::string& plugin) = 0;
    // Saves value (JSON text) under key, or deletes key (nullopt); written behind, in the
    // order of the calls. Any thread; never waits for the disk.
    virtual void save_state(const std::string& plugin, std::string key,
                            std::optional<std::string> value) = 0;
};

}  // namespace adashta::plugins
