// One Lua plugin: its own sandboxed Lua 5.4 state, its entry loaded, its hooks callable.
//
//   auto plugin = LuaPlugin::load(manifest, R"({"greeting":"hi"})");
//   if (!plugin) return plugin.error();          // bad_plugin: a syntax error, a missing hook
//   Outcome out = (*plugin)->call({Hook::on_message, subject, data, client});
//
// The sandbox (docs/plugins.md, "Lua"): only whitelisted globals (no io, no os beyond time
// and date, no debug, no package or C modules, no string.dump, load takes text only and
// defaults to the sandbox); require loads Lua files from the plugin's own folder. JSON
// arrives as tables through RapidJSON (plugins/src/lua_json.hpp): integers stay exact, []
// stays an array, null is adashta.json.null.
//
// Limits: an allocator with a cap (Limits::memory_bytes) and an instruction-count hook that
// checks the clock (Limits::call_ms of the thread's CPU time, so waiting for a CPU on a busy
// machine does not count; 10 × call_ms of wall-clock time at most). A call over a limit is stopped: pcall, xpcall and
// coroutine.resume inside the plugin cannot catch that, the call's Outcome says why, and the
// state stays usable for the next call.
//
// Threads: a LuaPlugin belongs to one thread at a time (the plugin's runner); nothing in it
// is shared.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/plugins/hooks.hpp"
#include "adashta/plugins/manifest.hpp"
#include "adashta/plugins/services.hpp"
#include "adashta/result.hpp"

struct lua_State;
struct lua_Debug;

namespace adashta::plugins {

class LuaPlugin {
public:
    // Makes the state, loads manifest.entry in it with config (a JSON object, already
    // checked against the manifest's schema) as adashta.config, and checks that the entry
    // returns a table with a function for every hook the manifest names. bad_plugin when it
    // does not, with the file, line and what to change; running the entry's top level is
    // held to the same limits as a call.
    //
    // services (not owned, outlives the plugin; may be null) is what adashta.produce and
    // adashta.state call. With the "store" permission the plugin's state is read from it
    // here, once (bad_plugin when it cannot be): reads are served from this copy, writes
    // change it and go to save_state. Null: both raise "this edge gives plugins no services".
    static Result<std::unique_ptr<LuaPlugin>> load(const Manifest& manifest, std::string_view config,
                                                   PluginServices* services = nullptr);
    ~LuaPlugin();
    LuaPlugin(const LuaPlugin&) = delete;
    LuaPlugin& operator=(const LuaPlugin&) = delete;

    // Runs the hook call.hook (which the manifest names) and returns its verdict, or why it
    // has none. Never throws; a failed call leaves the state usable.
    Outcome call(const Call& call);

    const Manifest& manifest() const { return manifest_; }
    std::size_t memory_used() const { return heap_.used; }

private:
    struct Heap {
        std::size_t used = 0;      // bytes the state holds now
        std::size_t cap = 0;       // at most this much while plugin code runs
        bool enforcing = false;    // the cap holds only inside a call (our own setup and
                                   // pushes must not fail outside Lua's protection)
        const void* refused_ptr = nullptr;  // the last growth the cap refused: Lua asks
        std::size_t refused_size = 0;       // again after a full collection (0: none)
        bool refused_in_call = false;       // the cap refused something in this call
    };
    // The state's small blocks. Lua names the size of every block it frees or resizes, so
    // a free list per 16-byte size class needs no header: blocks are carved from 64 KiB
    // slabs and go back to malloc only with the state (the lists hold at most the peak of
    // what was live). A hook call's tables and strings then cost no malloc and free: most
    // of a pass-through call's time was glibc's, its bins and consolidation, and page faults
    // after it trimmed the arena. Used by whichever thread runs the state, one at a time.
    class SmallBlocks {
    public:
        static constexpr std::size_t kMax = 256;  // larger blocks are malloc's
        SmallBlocks() = default;
        SmallBlocks(const SmallBlocks&) = delete;
        SmallBlocks& operator=(const SmallBlocks&) = delete;
        ~SmallBlocks();
        static bool same_class(std::size_t a, std::size_t b) { return (a - 1) / kStep == (b - 1) / kStep; }
        void* take(std::size_t size);  // 1 ≤ size ≤ kMax; nullptr when malloc has no slab
        void give(void* block, std::size_t size);

    private:
        static constexpr std::size_t kStep = 16;
        static constexpr std::size_t kSlab = 64u << 10;
        struct Free {
            Free* next;
        };
        std::array<Free*, kMax / kStep> free_{};  // by (size - 1) / kStep
        std::vector<void*> slabs_;
        char* carve_ = nullptr;  // the unused rest of the newest slab
        std::size_t left_ = 0;
    };

    explicit LuaPlugin(Manifest manifest);
    Status open(std::string_view config);
    // Arms the limits for one call (or the entry's top level) and disarms them after.
    void arm();
    void disarm();
    Outcome failed(Failure failure, std::string error);

    static void* allocate(void* ud, void* ptr, std::size_t old_size, std::size_t new_size);
    static void count_hook(lua_State* L, ::lua_Debug* ar);
    friend int lua_plugin_killed(lua_State* L);
    friend int lua_plugin_require(lua_State* L);
    friend int lua_plugin_log(lua_State* L);
    friend int lua_plugin_fields(lua_State* L);
    friend int lua_plugin_json_decode(lua_State* L);
    friend int lua_plugin_json_encode(lua_State* L);
    friend int with_cap_suspended(lua_State* L, int (*f)(lua_State*));
    friend int lua_plugin_produce(lua_State* L);
    friend int lua_plugin_state_get(lua_State* L);
    friend int lua_plugin_state_set(lua_State* L);
    friend int lua_plugin_state_keys(lua_State* L);

    Manifest manifest_;                            // what was loaded, from where
    SmallBlocks blocks_;                           // the allocator's small blocks
    Heap heap_;                                    // the allocator's accounting
    lua_State* L_ = nullptr;                       // the state; owned, closed in ~LuaPlugin
    std::chrono::steady_clock::time_point deadline_;       // when to look at its CPU time
    std::chrono::steady_clock::time_point hard_deadline_;  // when it stops in any case
    std::chrono::nanoseconds cpu_start_{};                 // the thread's CPU time at or
                                                           // shortly before arm(): cpu_mark_
    std::chrono::nanoseconds cpu_mark_{};                  // the thread's CPU time, read
    std::chrono::steady_clock::time_point cpu_mark_at_{};  // then (at most every kCpuMarkEvery)
    bool stopped_ = false;                         // the running call is over a limit
    Failure stop_reason_ = Failure::none;          // which one
    int dispatch_ref_ = 0;                         // registry: the prelude's on_http dispatcher
    int lazy_ref_ = 0;                             // registry: the metatable of msg and client
    int verdict_ref_ = 0;                          // registry: the prelude's verdict(name, v)
    int client_ref_ = 0;                           // registry: the last call's client text, as a
    std::string client_text_;                      // Lua string (0: none yet), and as itself
    lua_State* caller_ = nullptr;                  // the coroutine calls run in
    int caller_ref_ = 0;                           // registry: caller_, kept alive
    int hooks_ref_[kHookCount] = {};               // registry: the entry's hook functions
    PluginServices* services_ = nullptr;           // produce and state; not owned, may be null
    std::map<std::string, std::string, std::less<>> state_;  // key → JSON text: the plugin's
                                                   // state as saved (read once at load)
};

}  // namespace adashta::plugins
