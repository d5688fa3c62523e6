#include "adashta/plugins/lua_plugin.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

#include "adashta/json.hpp"
#include "adashta/log.hpp"
#include "lua_json.hpp"

namespace adashta::plugins {

// Compiled in from plugins/src/lua/prelude.lua (plugins/CMakeLists.txt).
extern const std::string_view kLuaPrelude;

namespace fs = std::filesystem;

namespace {
// The keys under which msg and client keep their texts (the prelude's TEXT and DATA).
constexpr char kTextKey = 't';
constexpr char kDataKey = 'd';

// The count hook runs every this many VM instructions and reads the clock: about 5 µs of
// Lua apart, so a call stops within microseconds of its limit at a cost near 0.5 %.
constexpr int kHookEvery = 1000;
// A call kept from a CPU is stopped at this many times its limit of wall-clock time anyway.
constexpr int kWallFactor = 10;
// Reading the thread's CPU time is a system call (about 0.3 µs, a tenth of a pass-through
// call): a call's CPU clock starts at the last reading, taken again when this much wall time
// has passed (or a tenth of the call's limit, when that is less), so a call is charged at
// most that much of the calls before it.
constexpr auto kCpuMarkEvery = std::chrono::microseconds(1000);
// A file require or the entry may read at most.
constexpr std::size_t kMaxSourceBytes = 4u << 20;

LuaPlugin*& owner_of(lua_State* L) { return *static_cast<LuaPlugin**>(lua_getextraspace(L)); }

// The state's errors in C++: never throws, the message copied out of the state.
std::string error_text(lua_State* L, int index) {
    std::size_t size = 0;
    const char* text = lua_tolstring(L, index, &size);  // numbers become strings; others nil
    if (!text) return std::string{"(an error value of type "} + luaL_typename(L, index) + ")";
    return std::string{text, size};
}

}  // namespace

// Lua → C++: stopped(), true once the running call is over one of its limits.
int lua_plugin_killed(lua_State* L) {
    lua_pushboolean(L, owner_of(L)->stopped_);
    return 1;
}

// Lua → C++: read_file(path), the text of a file in the plugin's folder, or nil, why. The
// cap is suspended while it runs, so no allocation raises (longjmp) past the C++ objects here.
int lua_plugin_require(lua_State* L) {
    LuaPlugin* self = owner_of(L);
    std::size_t size = 0;
    const char* relative = luaL_checklstring(L, 1, &size);
    const std::string_view path{relative, size};
    const bool enforcing = self->heap_.enforcing;
    self->heap_.enforcing = false;
    const int results = [&] {
        if (path.empty() || path.front() == '/' || path.find("..") != std::string_view::npos) {
            lua_pushnil(L);
            lua_pushliteral(L, "the path must stay inside the plugin's folder");
            return 2;
        }
        // A symbolic link that leads out of the folder does not count as inside it.
        std::error_code ec;
        const fs::path folder = fs::canonical(self->manifest_.folder, ec);
        const fs::path file = fs::weakly_canonical(self->manifest_.folder / path, ec);
        const auto [end, rest] = std::mismatch(folder.begin(), folder.end(), file.begin(), file.end());
        std::ifstream in;
        if (!ec && end == folder.end() && fs::is_regular_file(file, ec)) in.open(file, std::ios::binary);
        if (!in.is_open()) {
            lua_pushnil(L);
            const std::string why = std::string{path} + ": no such file in the plugin's folder";
            lua_pushlstring(L, why.data(), why.size());
            return 2;
        }
        std::string text(kMaxSourceBytes + 1, '\0');
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<std::size_t>(in.gcount()));
        if (text.size() > kMaxSourceBytes) {
            lua_pushnil(L);
            const std::string why = std::string{path} + ": is larger than " +
                                    std::to_string(kMaxSourceBytes >> 20) + " MiB";
            lua_pushlstring(L, why.data(), why.size());
            return 2;
        }
        lua_pushlstring(L, text.data(), text.size());
        return 1;
    }();
    self->heap_.enforcing = enforcing;
    return results;
}

// Lua → C++: fields(text, t, null) fills table t with a flat JSON object's members (the
// edge's own subject and context texts; JSON null as null); nested values come back raw in a
// table, for decode, or nil. The cap is suspended here as in read_file: nothing raises past
// the C++ objects.
int lua_plugin_fields(lua_State* L) {
    LuaPlugin* self = owner_of(L);
    std::size_t size = 0;
    const char* text = luaL_checklstring(L, 1, &size);
    luaL_checktype(L, 2, LUA_TTABLE);
    const bool enforcing = self->heap_.enforcing;
    self->heap_.enforcing = false;
    const int results = [&] {
        auto object = json::ObjectView::parse(std::string_view{text, size});
        if (!object) {
            lua_pushnil(L);
            lua_pushliteral(L, "not a JSON object");
            return 2;
        }
        const int table = 2;
        int nested = 0;  // the table of raw nested values, made when the first one comes
        for (const auto& [key, raw] : object->members()) {
            const char first = raw.empty() ? '\0' : raw.front();
            int into = table;
            lua_pushlstring(L, key.data(), key.size());
            if (first == '"') {
                const auto value = json::unquote(raw);
                lua_pushlstring(L, value->data(), value->size());
            } else if (raw == "true" || raw == "false") {
                lua_pushboolean(L, raw == "true");
            } else if (raw == "null" && lua_istable(L, 3)) {
                lua_pushvalue(L, 3);  // the null sentinel, as json_decode gives it
            } else if (const auto integer = object->integer(key); integer) {
                lua_pushinteger(L, static_cast<lua_Integer>(*integer));
            } else {
                // A fraction, an object or an array: json_decode reads it.
                if (nested == 0) {
                    lua_newtable(L);
                    lua_insert(L, -2);  // below the key
                    nested = lua_gettop(L) - 1;
                }
                into = nested;
                lua_pushlstring(L, raw.data(), raw.size());
            }
            lua_rawset(L, into);
        }
        if (nested == 0) lua_pushnil(L);
        return 1;
    }();
    self->heap_.enforcing = enforcing;
    return results;
}

// Runs a lua_json function with the cap suspended (nothing may raise past its C++ objects),
// then holds the cap: a value that took the state past it stops the call.
int with_cap_suspended(lua_State* L, lua_CFunction f) {
    LuaPlugin* self = owner_of(L);
    const bool enforcing = self->heap_.enforcing;
    self->heap_.enforcing = false;
    const int results = f(L);
    self->heap_.enforcing = enforcing;
    if (enforcing && self->heap_.used > self->heap_.cap) {
        self->stopped_ = true;
        self->stop_reason_ = Failure::memory;
        return luaL_error(L, "stopped: over its limit");
    }
    return results;
}

int lua_plugin_json_decode(lua_State* L) { return with_cap_suspended(L, lua_json::decode); }
int lua_plugin_json_encode(lua_State* L) { return with_cap_suspended(L, lua_json::encode); }

// Lua → C++: send(queue, data, to, user, to_server, session, delay_ms), the prelude's
// adashta.produce with its arguments checked for type and data encoded: nil once the
// message is handed to the edge (the store's refusal comes later, as a log line), or why
// not. No C++ object lives across a Lua call that could raise.
int lua_plugin_produce(lua_State* state) {
    return with_cap_suspended(state, [](lua_State* L) -> int {
        LuaPlugin* self = owner_of(L);
        std::string why;
        {
            const auto text_at = [L](int index) {
                std::size_t size = 0;
                const char* text = lua_tolstring(L, index, &size);
                return text ? std::string{text, size} : std::string{};
            };
            PluginProduce message{.plugin = self->manifest_.name,
                                  .queue = text_at(1),
                                  .data = text_at(2),
                                  .to = text_at(3),
                                  .user = text_at(4),
                                  .to_server = lua_toboolean(L, 5) != 0,
                                  .session = text_at(6),
                                  .delay_ms = static_cast<std::int64_t>(lua_tointeger(L, 7))};
            if (auto ok = check_produce(message); !ok) {
                why = ok.error().detail;
            } else {
                std::string plugin = self->manifest_.name;
                std::string queue = message.queue;
                self->services_->produce(std::move(message), [plugin = std::move(plugin), queue = std::move(queue)](
                                                                 const Status& stored) {
                    if (!stored)
                        log::warn("plugin " + plugin, "adashta.produce to " + queue +
                                                          " was refused: " + stored.error().to_string());
                });
            }
        }
        if (why.empty()) return 0;
        lua_pushlstring(L, why.data(), why.size());
        return 1;
    });
}

// Lua → C++: get(key), the JSON text saved under key, or nil. From memory: no store trip.
int lua_plugin_state_get(lua_State* state) {
    return with_cap_suspended(state, [](lua_State* L) -> int {
        const LuaPlugin* self = owner_of(L);
        std::size_t size = 0;
        const char* key = lua_tolstring(L, 1, &size);
        const auto it = key ? self->state_.find(std::string_view{key, size}) : self->state_.end();
        if (it == self->state_.end()) lua_pushnil(L);
        else lua_pushlstring(L, it->second.data(), it->second.size());
        return 1;
    });
}

// Lua → C++: set(key, text or nil, api), the copy changed and the change saved behind
// (PluginServices::save_state): nil, or why not (a limit; api names the call).
int lua_plugin_state_set(lua_State* state) {
    return with_cap_suspended(state, [](lua_State* L) -> int {
        LuaPlugin* self = owner_of(L);
        std::string why;
        {
            std::size_t size = 0;
            const char* key_text = lua_tolstring(L, 1, &size);
            std::string key{key_text ? key_text : "", key_text ? size : 0};
            std::optional<std::string> value;
            if (const char* text = lua_tolstring(L, 2, &size)) value.emplace(text, size);
            const char* api = lua_tostring(L, 3);
            const auto it = self->state_.find(key);
            const bool is_new = it == self->state_.end();
            Status ok = value ? check_state_write(key, value, self->state_.size(), is_new)
                              : check_state_key(api ? api : "adashta.state.delete", key);
            if (!ok) {
                why = ok.error().detail;
            } else if (!value && is_new) {
                // Nothing to delete: nothing to save either.
            } else {
                if (value) self->state_.insert_or_assign(it, key, *value);
                else self->state_.erase(it);
                self->services_->save_state(self->manifest_.name, std::move(key), std::move(value));
            }
        }
        if (why.empty()) return 0;
        lua_pushlstring(L, why.data(), why.size());
        return 1;
    });
}

// Lua → C++: keys(prefix), the saved keys that start with prefix, in byte order, as a
// sequence (the prelude marks it an array).
int lua_plugin_state_keys(lua_State* state) {
    return with_cap_suspended(state, [](lua_State* L) -> int {
        const LuaPlugin* self = owner_of(L);
        std::size_t size = 0;
        const char* prefix_text = lua_tolstring(L, 1, &size);
        const std::string_view prefix{prefix_text ? prefix_text : "", prefix_text ? size : 0};
        lua_newtable(L);
        lua_Integer n = 0;
        for (auto it = self->state_.lower_bound(prefix); it != self->state_.end() && it->first.starts_with(prefix);
             ++it) {
            lua_pushlstring(L, it->first.data(), it->first.size());
            lua_rawseti(L, -2, ++n);
        }
        return 1;
    });
}

// Lua → C++: log(level, text), a line in the edge's log from this plugin.
int lua_plugin_log(lua_State* L) {
    const LuaPlugin* self = owner_of(L);
    const char* level_name = luaL_checkstring(L, 1);
    std::size_t size = 0;
    const char* text = luaL_checklstring(L, 2, &size);
    const auto level = log::parse_level(level_name).value_or(log::Level::info);
    if (log::enabled(level))
        log::write(level, "plugin " + self->manifest_.name, std::string_view{text, size});
    return 0;
}

LuaPlugin::SmallBlocks::~SmallBlocks() {
    for (void* slab : slabs_) std::free(slab);
}

void* LuaPlugin::SmallBlocks::take(std::size_t size) {
    const std::size_t index = (size - 1) / kStep;
    if (Free* block = free_[index]) {
        free_[index] = block->next;
        return block;
    }
    const std::size_t bytes = (index + 1) * kStep;
    if (left_ < bytes) {
        void* slab = std::malloc(kSlab);
        if (!slab) return nullptr;
        slabs_.push_back(slab);
        // What was left of the last slab goes to the list of its size, if it fits one.
        if (left_ >= kStep) give(carve_, left_ - left_ % kStep);
        carve_ = static_cast<char*>(slab);
        left_ = kSlab;
    }
    void* block = carve_;
    carve_ += bytes;
    left_ -= bytes;
    return block;
}

void LuaPlugin::SmallBlocks::give(void* block, std::size_t size) {
    const std::size_t index = (size - 1) / kStep;
    auto* free = static_cast<Free*>(block);
    free->next = free_[index];
    free_[index] = free;
}

void* LuaPlugin::allocate(void* ud, void* ptr, std::size_t old_size, std::size_t new_size) {
    auto* self = static_cast<LuaPlugin*>(ud);
    Heap& heap = self->heap_;
    SmallBlocks& blocks = self->blocks_;
    if (!ptr) old_size = 0;  // then old_size is the kind of object, not a size
    const auto release = [&blocks](void* block, std::size_t size) {
        if (size <= SmallBlocks::kMax) blocks.give(block, size);
        else std::free(block);
    };
    if (new_size == 0) {
        if (ptr) release(ptr, old_size);
        heap.used -= old_size;
        return nullptr;
    }
    if (heap.enforcing && new_size > old_size && heap.used - old_size + new_size > heap.cap) {
        // Lua collects all garbage and asks once more before it raises "not enough memory":
        // the second refusal of the same request is the one that stops the call, and so is
        // one that could never fit.
        const bool again = (heap.refused_ptr == ptr && heap.refused_size == new_size) ||
                           new_size > heap.cap;
        heap.refused_ptr = ptr;
        heap.refused_size = new_size;
        heap.refused_in_call = true;
        if (again) {
            self->stopped_ = true;
            self->stop_reason_ = Failure::memory;
        }
        return nullptr;
    }
    heap.refused_size = 0;
    void* block = nullptr;
    if (old_size > SmallBlocks::kMax && new_size > SmallBlocks::kMax) {
        block = std::realloc(ptr, new_size);
    } else if (ptr && old_size <= SmallBlocks::kMax && new_size <= SmallBlocks::kMax &&
               SmallBlocks::same_class(old_size, new_size)) {
        block = ptr;  // it fits where it is
    } else {
        block = new_size <= SmallBlocks::kMax ? blocks.take(new_size) : std::malloc(new_size);
        if (block && ptr) {
            std::memcpy(block, ptr, std::min(old_size, new_size));
            release(ptr, old_size);
        }
    }
    if (block) heap.used = heap.used - old_size + new_size;
    return block;
}

// The time a call has run: the thread's CPU time, so that a call waiting for a CPU on a busy
// machine is not charged for it.
namespace {
std::chrono::nanoseconds thread_cpu_time() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}
}  // namespace

void LuaPlugin::count_hook(lua_State* L, lua_Debug* /*ar*/) {
    LuaPlugin* self = owner_of(L);
    if (!self->heap_.enforcing) return;
    // The wall clock is cheap to read; only when it passes the limit does the thread's CPU
    // time say whether the call ran that long or was kept waiting (then its deadline moves
    // by what is left, up to kWallFactor times the limit).
    const auto now = std::chrono::steady_clock::now();
    if (!self->stopped_ && now >= self->deadline_) {
        const auto limit = std::chrono::milliseconds(self->manifest_.limits.call_ms);
        const auto ran = thread_cpu_time() - self->cpu_start_;
        if (ran >= limit || now >= self->hard_deadline_) {
            self->stopped_ = true;
            self->stop_reason_ = Failure::time;
        } else {
            self->deadline_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(limit - ran);
        }
    }
    if (self->stopped_) luaL_error(L, "stopped: over its limit");
}

LuaPlugin::LuaPlugin(Manifest manifest) : manifest_(std::move(manifest)) {
    heap_.cap = manifest_.limits.memory_bytes;
}

LuaPlugin::~LuaPlugin() {
    if (L_) lua_close(L_);
}

void LuaPlugin::arm() {
    stopped_ = false;
    stop_reason_ = Failure::none;
    heap_.refused_size = 0;
    heap_.refused_in_call = false;
    const auto now = std::chrono::steady_clock::now();
    const auto limit = std::chrono::milliseconds(manifest_.limits.call_ms);
    deadline_ = now + limit;
    hard_deadline_ = now + kWallFactor * limit;
    if (now - cpu_mark_at_ >= std::min(kCpuMarkEvery, std::chrono::microseconds(limit) / 10)) {
        cpu_mark_ = thread_cpu_time();
        cpu_mark_at_ = now;
    }
    cpu_start_ = cpu_mark_;
    heap_.enforcing = true;
}

void LuaPlugin::disarm() { heap_.enforcing = false; }

Outcome LuaPlugin::failed(Failure failure, std::string error) {
    Outcome out;
    out.failure = failure;
    out.error = std::move(error);
    return out;
}

Result<std::unique_ptr<LuaPlugin>> LuaPlugin::load(const Manifest& manifest, std::string_view config,
                                                  PluginServices* services) {
    std::unique_ptr<LuaPlugin> plugin{new LuaPlugin(manifest)};
    plugin->services_ = services;
    // The state is read once, before the entry's top level runs (which may read it too).
    if (services && manifest.may(Permission::store)) {
        auto state = services->load_state(manifest.name);
        if (!state)
            return make_error(Errc::bad_plugin, manifest.name + ": its state could not be read from the edge's store: " +
                                                    state.error().to_string());
        for (auto& [key, value] : *state) plugin->state_.insert_or_assign(std::move(key), std::move(value));
    }
    if (auto ok = plugin->open(config.empty() ? std::string_view{"{}"} : config); !ok) return ok.error();
    return plugin;
}

Status LuaPlugin::open(std::string_view config) {
    const std::string where = manifest_.name + " (" + (manifest_.folder / manifest_.entry).string() + ")";
    L_ = lua_newstate(&LuaPlugin::allocate, this);
    if (!L_) return make_error(Errc::bad_plugin, where + ": no memory for a Lua state");
    owner_of(L_) = this;  // new coroutines copy it
    lua_atpanic(L_, [](lua_State* L) -> int {
        log::error("plugins", "a Lua state failed outside protection: " + error_text(L, -1));
        std::abort();
    });
    // The standard libraries the prelude picks from (io, debug and package are left out).
    const auto open_libs = [](lua_State* L) -> int {
        luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
        luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
        luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
        luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
        luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
        luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
        luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 1);
        lua_settop(L, 0);
        return 0;
    };
    lua_pushcfunction(L_, open_libs);
    if (lua_pcall(L_, 0, 0, 0) != LUA_OK)
        return make_error(Errc::bad_plugin, where + ": " + error_text(L_, -1));

    if (luaL_loadbufferx(L_, kLuaPrelude.data(), kLuaPrelude.size(), "=prelude", "t") != LUA_OK)
        return make_error(Errc::bad_plugin, "prelude: " + error_text(L_, -1));
    lua_pushcfunction(L_, lua_plugin_killed);
    lua_pushcfunction(L_, lua_plugin_log);
    lua_pushcfunction(L_, lua_plugin_require);
    lua_pushcfunction(L_, lua_plugin_fields);
    lua_pushcfunction(L_, lua_plugin_json_decode);
    lua_pushcfunction(L_, lua_plugin_json_encode);
    lua_pushlstring(L_, manifest_.name.data(), manifest_.name.size());
    lua_pushlstring(L_, manifest_.version.data(), manifest_.version.size());
    lua_pushlstring(L_, config.data(), config.size());
    lua_createtable(L_, 0, 7);
    lua_pushboolean(L_, manifest_.may(Permission::produce));
    lua_setfield(L_, -2, "produce");
    lua_pushboolean(L_, manifest_.may(Permission::store));
    lua_setfield(L_, -2, "store");
    lua_pushboolean(L_, services_ != nullptr);
    lua_setfield(L_, -2, "offered");
    lua_pushcfunction(L_, lua_plugin_produce);
    lua_setfield(L_, -2, "send");
    lua_pushcfunction(L_, lua_plugin_state_get);
    lua_setfield(L_, -2, "get");
    lua_pushcfunction(L_, lua_plugin_state_set);
    lua_setfield(L_, -2, "set");
    lua_pushcfunction(L_, lua_plugin_state_keys);
    lua_setfield(L_, -2, "keys");
    lua_pushlightuserdata(L_, const_cast<char*>(&kTextKey));
    lua_pushlightuserdata(L_, const_cast<char*>(&kDataKey));
    if (lua_pcall(L_, 12, 4, 0) != LUA_OK)
        return make_error(Errc::bad_plugin, where + ": its config: " + error_text(L_, -1));
    verdict_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
    lazy_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
    const int load_entry = lua_gettop(L_);
    lua_pushvalue(L_, load_entry - 1);
    dispatch_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);

    // The entry's top level runs under the same limits as a call.
    lua_sethook(L_, &LuaPlugin::count_hook, LUA_MASKCOUNT, kHookEvery);
    lua_pushvalue(L_, load_entry);
    lua_pushlstring(L_, manifest_.entry.data(), manifest_.entry.size());
    arm();
    const int status = lua_pcall(L_, 1, 1, 0);
    disarm();
    if (status != LUA_OK) {
        const std::string why = stop_reason_ == Failure::time
                                    ? "its top level ran past its " +
                                          std::to_string(manifest_.limits.call_ms) + " ms limit"
                                : stop_reason_ == Failure::memory
                                    ? "its top level needs more than its " +
                                          std::to_string(manifest_.limits.memory_bytes >> 20) +
                                          " MiB memory limit"
                                    : error_text(L_, -1);
        return make_error(Errc::bad_plugin, where + ": " + why);
    }
    if (!lua_istable(L_, -1))
        return make_error(Errc::bad_plugin,
                          where + ": must return a table of its hooks, e.g. return { on_message = "
                                  "function(msg, client) ... end }, not a " +
                                  luaL_typename(L_, -1));
    for (const Hook hook : manifest_.hooks) {
        const std::string name{hook_name(hook)};
        lua_getfield(L_, -1, name.c_str());
        if (!lua_isfunction(L_, -1))
            return make_error(Errc::bad_plugin,
                              where + ": the manifest names hook " + name +
                                  " but the returned table's " + name + " is a " +
                                  luaL_typename(L_, -1) + ", not a function");
        hooks_ref_[static_cast<std::size_t>(hook)] = luaL_ref(L_, LUA_REGISTRYINDEX);
    }
    lua_settop(L_, 0);
    lua_gc(L_, LUA_GCCOLLECT);
    lua_gc(L_, LUA_GCGEN, 0, 0);
    return {};
}

Outcome LuaPlugin::call(const Call& call) {
    const int hook_ref = hooks_ref_[static_cast<std::size_t>(call.hook)];
    assert(hook_ref != 0 && "call() of a hook the manifest does not name");
    const std::string_view name = hook_name(call.hook);
    // One coroutine runs the calls: a call that returned leaves it empty and ready. One that
    // failed or yielded gets a new one (an error raised by the count hook leaves hooks off in
    // the thread it was raised in: Lua restores them only for pcall, not for a resume).
    if (!caller_) {
        caller_ = lua_newthread(L_);
        caller_ref_ = luaL_ref(L_, LUA_REGISTRYINDEX);
    }
    lua_State* co = caller_;
    // on_http's answer is read by the prelude's dispatcher; every other hook runs as itself,
    // and only a value it returned goes to the prelude's verdict (nil, the usual, is pass).
    const bool direct = call.hook != Hook::on_http;
    if (!direct) lua_rawgeti(co, LUA_REGISTRYINDEX, dispatch_ref_);
    lua_rawgeti(co, LUA_REGISTRYINDEX, hook_ref);
    // msg and client, their texts kept until read (the prelude's LAZY). Made here, not in
    // the prelude: a quarter less of the call's time.
    const auto lazy_table = [this, co](std::string_view text, std::string_view data, bool client) {
        lua_createtable(co, 0, data.empty() ? 1 : 2);
        if (!client) {
            lua_pushlstring(co, text.data(), text.size());
        } else if (client_ref_ != 0 && text == client_text_) {
            // A connection's messages come one after another with the same client text:
            // the string made for the first serves (a Lua string cannot change).
            lua_rawgeti(co, LUA_REGISTRYINDEX, client_ref_);
        } else {
            lua_pushlstring(co, text.data(), text.size());
            lua_pushvalue(co, -1);
            if (client_ref_ != 0) luaL_unref(co, LUA_REGISTRYINDEX, client_ref_);
            client_ref_ = luaL_ref(co, LUA_REGISTRYINDEX);
            client_text_.assign(text);
        }
        lua_rawsetp(co, -2, &kTextKey);
        if (!data.empty()) {
            lua_pushlstring(co, data.data(), data.size());
            lua_rawsetp(co, -2, &kDataKey);
        }
        lua_rawgeti(co, LUA_REGISTRYINDEX, lazy_ref_);
        lua_setmetatable(co, -2);
    };
    lazy_table(call.subject, call.data, false);
    if (call.context.empty()) lua_pushnil(co);
    else lazy_table(call.context, {}, true);
    arm();
    int results = 0;
    int status = lua_resume(co, L_, direct ? 2 : 3, &results);
    if (direct && status == LUA_OK && results > 0 && !lua_isnil(co, -results)) {
        // What it returned, through verdict(name, v) on the emptied coroutine, still armed.
        lua_settop(co, lua_gettop(co) - results + 1);
        lua_xmove(co, L_, 1);
        lua_settop(co, 0);
        lua_rawgeti(co, LUA_REGISTRYINDEX, verdict_ref_);
        lua_pushlstring(co, name.data(), name.size());
        lua_xmove(L_, co, 1);
        status = lua_resume(co, L_, 2, &results);
    }
    // Its pending to-be-closed variables run now, still under the limits (stopped: at once).
    if (status != LUA_OK && status != LUA_YIELD) lua_resetthread(co);
    disarm();
    Outcome out;
    if (stopped_) {
        out = stop_reason_ == Failure::time
                  ? failed(Failure::time, std::string{name} + ": stopped after its " +
                                              std::to_string(manifest_.limits.call_ms) +
                                              " ms limit (callMs)")
                  : failed(Failure::memory, std::string{name} + ": stopped at its " +
                                                std::to_string(manifest_.limits.memory_bytes >> 20) +
                                                " MiB memory limit (memoryMB)");
    } else if (status == LUA_YIELD) {
        out = failed(Failure::error, std::string{name} +
                                         ": yielded outside a coroutine of its own; hooks cannot "
                                         "wait yet");
    } else if (status == LUA_ERRMEM ||
               (status != LUA_OK && heap_.refused_in_call && error_text(co, -1) == "not enough memory")) {
        // The cap refused once and the code raised at that (lauxlib's buffers ask the
        // allocator directly, with no second try after a collection).
        out = failed(Failure::memory, std::string{name} + ": stopped at its " +
                                          std::to_string(manifest_.limits.memory_bytes >> 20) +
                                          " MiB memory limit (memoryMB)");
    } else if (status != LUA_OK) {
        out = failed(Failure::error, std::string{name} + ": " + error_text(co, -1));
    } else {
        const int base = lua_gettop(co) - results + 1;
        std::size_t size = 0;
        const char* kind = lua_tolstring(co, base, &size);
        const std::string_view k = kind ? std::string_view{kind, size} : std::string_view{};
        if (k == "drop" || k == "reject") {
            out.verdict.kind = k == "drop" ? Verdict::Kind::drop : Verdict::Kind::reject;
            const char* reason = lua_tolstring(co, base + 1, &size);
            if (reason) out.verdict.reason.assign(reason, size);
            out.verdict.close_code = static_cast<int>(lua_tointeger(co, base + 2));
        } else if (results >= 2 && lua_type(co, base + 1) == LUA_TSTRING) {
            const char* data = lua_tolstring(co, base + 1, &size);
            out.verdict.data.emplace(data, size);
        }
    }
    lua_settop(co, 0);
    if (status != LUA_OK) {
        luaL_unref(L_, LUA_REGISTRYINDEX, caller_ref_);
        caller_ = nullptr;
    }
    if (out.failure == Failure::memory) lua_gc(L_, LUA_GCCOLLECT);
    return out;
}

}  // namespace adashta::plugins
