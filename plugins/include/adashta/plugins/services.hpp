// What the edge offers plugins beyond their hooks (docs/plugins.md, "What a plugin can do"):
// producing messages of their own (permission "produce") and keeping state in the edge's
// store (permission "store"). The edge implements it; the runtimes (Lua, the JavaScript
// host) call it for the plugin code.
//
//   services.produce({.plugin = "presence", .queue = "room.lobby", .data = R"({"here":3})"},
//                    [](const Status& stored) { ... });           // any thread
//   services.save_state("analytics", "views:/index", "42");        // written behind
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::plugins {

// What a plugin may keep and produce (docs/plugins.md, "What a plugin can do besides its
// hooks"). Both runtimes refuse more with an error that names the limit; the edge's side
// checks the JavaScript host's frames against them again.
inline constexpr std::size_t kMaxStateKeyBytes = 256;         // a state key: 1 .. 256 bytes
inline constexpr std::size_t kMaxStateValueBytes = 64u << 10;  // a value, as JSON text
inline constexpr std::size_t kMaxStateKeys = 10'000;           // keys one plugin holds
inline constexpr std::size_t kMaxProduceBytes = 1u << 20;      // a produced message's data
inline constexpr std::int64_t kMaxProduceDelayMs = 365LL * 24 * 60 * 60 * 1000;  // delayMs

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

// The checks both runtimes make before they call a PluginServices (and JsHost again on the
// host's frames), each error's detail starting with the API's name so a plugin's author
// knows which call and which limit: bad_option for a key or value out of its limits,
// message_too_large for produced data over kMaxProduceBytes, bad_queue, bad_timeout.
// keys_held is how many keys the plugin holds now; key_is_new says whether key is one more.
Status check_state_write(std::string_view key, const std::optional<std::string>& value,
                         std::size_t keys_held, bool key_is_new);
Status check_state_key(std::string_view api, std::string_view key);
Status check_produce(const PluginProduce& message);

}  // namespace adashta::plugins
