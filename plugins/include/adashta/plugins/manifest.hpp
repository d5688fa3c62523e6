// A plugin package's manifest: the folder's adashta-plugin.json, read and checked.
//
//   auto m = plugins::read_manifest("/var/lib/adashta/plugins/shout");
//   if (!m) { log::error("{}", m.error().to_string()); return; }  // bad_plugin, names file and key
//   if (auto ok = plugins::check_config(*m, config_text, "adashta.json: plugins[0].config"); !ok) ...
//
// The format is documented in docs/plugins.md ("The manifest"). Unknown keys are refused, so
// a misspelt key is an error rather than a silently ignored setting.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::plugins {

enum class Runtime { lua, js };

// The points in a message's life where a plugin runs (docs/plugins.md, "Hooks").
enum class Hook {
    on_connect,     // a browser connected and said hello: may refuse it with a close code
    on_disconnect,  // a browser connection ended (its verdict is ignored)
    on_message,     // client → server, before the message is stored
    on_deliver,     // server → client, once per recipient
    on_produce,     // a server node produced, before the message is stored or sent
    on_http,        // an HTTP request for /plugins/NAME/... (needs Permission::routes)
};
inline constexpr std::size_t kHookCount = 6;
std::string_view hook_name(Hook hook);

// What happens to a message when the plugin fails on it (an error, or over a limit).
enum class FailurePolicy {
    open,    // the message passes unchanged
    closed,  // the message is refused with plugin_failed
};

// What a plugin may do beyond looking at and changing the messages it is given.
enum class Permission {
    produce,  // produce messages of its own
    store,    // keep state in the edge's store
    http,     // make outbound HTTP requests (webhooks)
    routes,   // serve HTTP routes under /plugins/NAME/
};

struct Limits {
    std::size_t memory_bytes = 16u << 20;  // the plugin's heap (Lua: its state's allocator)
    int call_ms = 50;                      // wall-clock time one hook call may take
};

struct Manifest {
    std::filesystem::path folder;        // where the package is unpacked
    std::string name;                    // [a-z0-9-], starting with a letter, at most 64
    std::string version;                 // MAJOR.MINOR.PATCH, optional -pre
    std::string description;             // one line for `adashta plugin search`
    Runtime runtime = Runtime::lua;      // which runtime loads entry
    std::string entry;                   // the code's file, relative to folder
    std::vector<Hook> hooks;             // the hooks entry provides, at least one
    std::vector<std::string> queues;     // queue patterns it runs for by default (`*` any run)
    FailurePolicy failure = FailurePolicy::open;  // on an error or an exceeded limit
    std::vector<Permission> permissions;          // what it may do besides its hooks
    std::string config_schema;           // JSON Schema (draft 4) of its config; empty: none
    std::string assets;                  // folder served at /plugins/NAME/, empty: none
    Limits limits;                       // defaults, or the manifest's "limits"

    bool has_hook(Hook hook) const;
    bool may(Permission permission) const;
};

inline constexpr std::string_view kManifestFile = "adashta-plugin.json";
// The largest manifest read; a longer file is refused.
inline constexpr std::size_t kMaxManifestBytes = 256u << 10;
// What a manifest's "limits" may ask for at most.
inline constexpr std::size_t kMaxMemoryBytes = 512u << 20;
inline constexpr int kMaxCallMs = 10'000;

// Reads folder/adashta-plugin.json. Fails with bad_plugin naming the file and the key that
// is wrong and what it should be: the file missing or not JSON, a required key missing, an
// unknown key, a name, version or hook that is not valid, an entry or assets path outside
// the folder or missing, a config schema that is not a valid schema.
Result<Manifest> read_manifest(const std::filesystem::path& folder);
// The same, from the manifest's text (file names the file in errors).
Result<Manifest> parse_manifest(std::string_view text, const std::filesystem::path& folder,
                                std::string_view file);

// Checks a plugin's config (JSON text) against its manifest's schema. where says where the
// config came from ("adashta.json: plugins[0].config") and starts the error's detail. A
// plugin without a schema takes any JSON object; config "" counts as {}.
Status check_config(const Manifest& manifest, std::string_view config, std::string_view where);

}  // namespace adashta::plugins
