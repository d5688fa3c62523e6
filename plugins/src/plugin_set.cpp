#include "adashta/plugins/plugin_set.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "adashta/json.hpp"
#include "adashta/plugins/lua_runner.hpp"

namespace adashta::plugins {

namespace fs = std::filesystem;

namespace {

Error option_error(const std::string& where, std::string_view what) {
    return make_error(Errc::bad_option, where + ": " + std::string{what});
}

Result<std::vector<std::string>> strings_at(std::string_view raw, const std::string& where) {
    auto items = json::array_elements(raw);
    if (!items) return option_error(where, "expected an array of queue patterns, like [\"chat.*\"]");
    std::vector<std::string> out;
    for (const auto item : *items) {
        auto s = json::unquote(item);
        if (!s || s->empty()) return option_error(where, "expected non-empty strings, like [\"chat.*\"]");
        out.push_back(std::move(*s));
    }
    return out;
}

Result<PluginEntry> read_entry(std::string_view raw, const std::string& where, const fs::path& base) {
    auto obj = json::ObjectView::parse(raw);
    if (!obj)
        return option_error(where, "expected an object like {\"name\": \"shout\", \"config\": {...}}");
    PluginEntry entry;
    entry.where = where;
    for (const auto& [key, value] : obj->members()) {
        if (key == "name" || key == "path") {
            auto s = json::unquote(value);
            if (!s || s->empty()) return option_error(where + "." + key, "expected a non-empty string");
            if (key == "name") entry.name = std::move(*s);
            else entry.path = fs::path{*s}.is_absolute() ? fs::path{*s} : base / *s;
        } else if (key == "queues") {
            auto queues = strings_at(value, where + ".queues");
            if (!queues) return queues.error();
            entry.queues = std::move(*queues);
        } else if (key == "config") {
            if (!json::ObjectView::parse(value))
                return option_error(where + ".config", "expected an object (the plugin's settings)");
            entry.config = std::string{value};
        } else {
            return option_error(where + "." + key, "is not a plugin entry key (name, path, queues, config)");
        }
    }
    if (entry.name.empty() == entry.path.empty())
        return option_error(where, "give either \"name\" (an installed plugin) or \"path\" (a plugin's folder)");
    return entry;
}

}  // namespace

Result<std::vector<PluginEntry>> parse_plugin_entries(std::string_view text, const std::string& config_path) {
    std::vector<PluginEntry> out;
    auto top = json::ObjectView::parse(text);
    if (!top) return out;  // the config loader says where the JSON breaks
    const auto raw = top->raw("plugins");
    if (!raw) return out;
    auto items = json::array_elements(*raw);
    if (!items)
        return option_error(config_path + ": plugins",
                            "expected an array of plugins, like [{\"name\": \"shout\"}]");
    const fs::path base = fs::path{config_path}.parent_path();
    for (std::size_t i = 0; i < items->size(); ++i) {
        auto entry = read_entry((*items)[i], config_path + ": plugins[" + std::to_string(i) + "]", base);
        if (!entry) return entry.error();
        out.push_back(std::move(*entry));
    }
    return out;
}

Result<std::vector<PluginEntry>> read_plugin_entries(const std::string& config_path) {
    if (config_path.empty()) return std::vector<PluginEntry>{};
    std::ifstream in{config_path, std::ios::binary};
    if (!in) return std::vector<PluginEntry>{};
    std::ostringstream text;
    text << in.rdbuf();
    return parse_plugin_entries(text.str(), config_path);
}

Result<std::unique_ptr<Chain>> load_chain(const std::vector<PluginEntry>& entries, const fs::path& plugins_dir,
                                          const JsLoader& js, ChainOptions options,
                                          PluginServices* services) {
    std::vector<ChainLink> links;
    std::set<std::string> names;
    for (const PluginEntry& entry : entries) {
        const fs::path folder = entry.path.empty() ? plugins_dir / entry.name : entry.path;
        std::error_code ec;
        if (!fs::is_directory(folder, ec)) {
            if (!entry.name.empty())
                return make_error(Errc::bad_plugin,
                                  entry.where + ": no plugin \"" + entry.name + "\" in " + plugins_dir.string() +
                                      " (install it: adashta plugin install " + entry.name + ")");
            return make_error(Errc::bad_plugin, entry.where + ": " + folder.string() + " is not a folder");
        }
        auto manifest = read_manifest(folder);
        if (!manifest) return make_error(Errc::bad_plugin, entry.where + ": " + manifest.error().detail);
        if (!entry.name.empty() && manifest->name != entry.name)
            return make_error(Errc::bad_plugin, entry.where + ": " + folder.string() + " holds plugin \"" +
                                                    manifest->name + "\", not \"" + entry.name + "\"");
        if (!names.insert(manifest->name).second)
            return make_error(Errc::bad_plugin, entry.where + ": plugin \"" + manifest->name +
                                                    "\" is listed twice; list it once, with every queue it runs for");
        if (auto ok = check_config(*manifest, entry.config, entry.where + ".config"); !ok) return ok.error();
        std::unique_ptr<PluginInstance> instance;
        if (manifest->runtime == Runtime::lua) {
            auto runner = LuaRunner::start(*manifest, entry.config, services);
            if (!runner) return make_error(Errc::bad_plugin, entry.where + ": " + runner.error().detail);
            instance = std::move(*runner);
        } else {
            if (!js)
                return make_error(Errc::bad_plugin, entry.where + ": plugin \"" + manifest->name +
                                                        "\" is JavaScript, and this edge has no plugin host");
            auto loaded = js(*manifest, entry.config);
            if (!loaded) return make_error(Errc::bad_plugin, entry.where + ": " + loaded.error().detail);
            instance = std::move(*loaded);
        }
        links.push_back(ChainLink{std::move(instance), entry.queues});
    }
    return std::make_unique<Chain>(std::move(links), options);
}

}  // namespace adashta::plugins
