// The edge's plugins: the "plugins" key of its config file, and loading them into a Chain.
//
//   "plugins": [
//     {"name": "shout", "queues": ["chat.*"], "config": {"suffix": "!"}},   // installed
//     {"path": "./dev/my-filter"}                                           // a folder
//   ]
//
//   auto entries = read_plugin_entries("/etc/adashta/adashta.json");
//   auto chain = load_chain(*entries, "/var/lib/adashta/plugins", js_loader);
//   if (!chain) { log::error("edge", chain.error().to_string()); return 1; }
//
// Errors name the file and the key: "adashta.json: plugins[1].config/port: is above ...".
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/plugins/chain.hpp"
#include "adashta/plugins/manifest.hpp"
#include "adashta/plugins/runtime.hpp"
#include "adashta/plugins/services.hpp"
#include "adashta/result.hpp"

namespace adashta::plugins {

struct PluginEntry {
    std::string name;                 // an installed plugin: plugins_dir/NAME
    std::filesystem::path path;       // or a folder given directly (relative paths: to the
                                      // config file's folder); one of name and path
    std::vector<std::string> queues;  // patterns that replace the manifest's; empty: its own
    std::string config;               // the plugin's config, a JSON object ("" is {})
    std::string where;                // "adashta.json: plugins[0]", how errors name it
};

// The config file's "plugins" array, checked for shape (unknown keys, types); empty when the
// file has none. bad_option naming the file and the key otherwise. A missing or unreadable
// file gives an empty list: the edge's config loader reports those itself.
Result<std::vector<PluginEntry>> read_plugin_entries(const std::string& config_path);
// The same from the file's text (path names it in errors and anchors relative paths).
Result<std::vector<PluginEntry>> parse_plugin_entries(std::string_view text, const std::string& config_path);

// What loads a JavaScript plugin (the plugin host); empty: JS plugins are refused with how
// to get the host.
using JsLoader =
    std::function<Result<std::unique_ptr<PluginInstance>>(const Manifest& manifest, std::string_view config)>;

// Reads every entry's manifest, checks its config against the schema, loads it (Lua on a
// runner thread of its own, JS through js) and returns them as a Chain in the file's
// order. bad_plugin naming the entry when a plugin is missing (with the install command),
// named twice, or does not load. services (not owned, outlives the chain; null: none) is
// what the Lua plugins' adashta.produce and adashta.state call; a JsLoader passes its own
// to JsHost::load.
Result<std::unique_ptr<Chain>> load_chain(const std::vector<PluginEntry>& entries,
                                          const std::filesystem::path& plugins_dir,
                                          const JsLoader& js = {}, ChainOptions options = {},
                                          PluginServices* services = nullptr);

}  // namespace adashta::plugins
