// adashta plugin: find, install, update, list and remove plugins from a hub; scaffold and
// test a plugin of one's own (docs/plugins.md, "Packages" and "Hubs").
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>

#include "adashta/plugins/hub_install.hpp"
#include "adashta/plugins/package_tests.hpp"
#include "args.hpp"
#include "commands.hpp"

namespace adashta::cli {

int plugin_reload(const Args& args, const std::string& data_dir);  // cmd_plugin_reload.cpp

namespace {

namespace fs = std::filesystem;
using namespace adashta::plugins;

constexpr std::string_view kHelp = R"(Usage: adashta plugin COMMAND [ARGS] [OPTIONS]

Plugins come from a hub (docs/plugins.md, "Hubs"); without --hub, from the hub that ships
with adashta (share/adashta/hub), which needs no network.

Commands:
  search [TERM]            the hub's plugins whose name or description has TERM
  info NAME                a plugin's versions on the hub, their sizes, sha256 and keys
  install NAME[@VERSION]   installs (the newest version by default): the signature is checked
                           against the trusted keys, then the size and sha256, then the
                           package's contents; the plugin's folder is replaced in one step
  update [NAME]            installs the hub's newest version of NAME (of every installed
                           plugin without NAME) where it is newer
  list                     installed plugins, their versions, and the hub's newest
  remove NAME              removes an installed plugin
  new NAME --runtime lua   makes NAME/ with a working Lua plugin: adashta-plugin.json,
                           main.lua (an on_message hook), README.md and tests.json
  test [FOLDER]            runs FOLDER's tests.json (default: .) through the Lua runtime and
                           prints "N passed, N failed"; exits 1 unless every case passed
  reload                   the edge running on --data loads its config's plugins again
                           (SIGHUP); connections stay open; exits 1 if a plugin did not
                           load (the ones loaded before then stay)

Options:
  --hub URL|DIR            the hub: http(s)://... or a folder (default $ADASHTA_HUB, else the
                           bundled hub); update and list use the hub each plugin came from
  --data DIR               the edge's data folder (default $ADASHTA_DATA, else adashta-data)
  --plugins-dir DIR        where plugins are installed (default DATA/plugins)
  --trust FILE[,FILE...]   keyrings to trust besides DIR/trusted-keys of the plugins folder
                           and the bundled hub's key (lines "ed25519 BASE64 LABEL", the .pub
                           file of `adashta hub keygen`)
  --runtime lua            new: the plugin's runtime
  --dir DIR                new: where NAME/ is made (default: .)
  --help                   this text

Exit codes: 0 done, 1 failed (the message says why and what to do), 2 bad usage.
)";

constexpr Flag kFlags[] = {{"hub", true},     {"data", true}, {"plugins-dir", true}, {"trust", true, true},
                           {"runtime", true}, {"dir", true},  {"help", false}};

int usage() {
    std::cerr << kHelp;
    return 2;
}

// share/adashta of this adashta: <bin>/../share/adashta when installed, <build>/share/adashta
// in a build tree (where the binary is <build>/adashta). Empty when neither has a hub.
fs::path bundled_share() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    for (const fs::path& share : {exe.parent_path().parent_path() / "share" / "adashta",
                                  exe.parent_path() / "share" / "adashta"})
        if (fs::exists(share / "hub" / kHubIndexFile, ec)) return share;
    return {};
}

Result<HubSource> hub_of(const Args& args) {
    if (args.has("hub")) return HubSource{args.value("hub")};
    if (const char* env = std::getenv("ADASHTA_HUB"); env && *env) return HubSource{env};
    const fs::path share = bundled_share();
    if (share.empty())
        return make_error(Errc::hub_unavailable,
                          "this adashta has no bundled hub beside it (share/adashta/hub next to its bin/, or "
                          "in its build tree); give one with --hub URL|DIR");
    return HubSource{(share / "hub").string()};
}

PluginsFolder plugins_folder(const Args& args) {
    if (args.has("plugins-dir")) return PluginsFolder{args.value("plugins-dir")};
    const char* env = std::getenv("ADASHTA_DATA");
    const std::string data = args.value("data", env && *env ? env : "adashta-data");
    return PluginsFolder{fs::path{data} / "plugins"};
}

Result<Keyring> keyring_of(const Args& args, const PluginsFolder& folder) {
    std::vector<fs::path> files{folder.trusted_keys()};
    if (const fs::path share = bundled_share(); !share.empty()) files.push_back(share / "trusted-keys");
    if (args.has("trust")) {
        std::string list = args.value("trust");
        for (std::size_t start = 0; start <= list.size();) {
            const std::size_t comma = std::min(list.find(',', start), list.size());
            const std::string file = list.substr(start, comma - start);
            start = comma + 1;
            if (file.empty()) continue;
            std::error_code ec;
            if (!fs::is_regular_file(file, ec))
                return make_error(Errc::bad_option, "--trust: \"" + file + "\" is not a file; give a keyring "
                                                                           "(the .pub file of `adashta hub keygen`)");
            files.emplace_back(file);
        }
    }
    return Keyring::read(files);
}

std::string lowercase(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

int search(const Args& args) {
    if (args.positional.size() > 2) return usage();
    auto hub = hub_of(args);
    if (!hub) return fail(hub.error());
    auto index = hub->index();
    if (!index) return fail(index.error());
    const std::string term = args.positional.size() == 2 ? lowercase(args.positional[1]) : "";
    int shown = 0;
    for (const auto& [name, versions] : index->packages()) {
        const HubVersion* v = index->newest(name);
        if (!v) continue;
        if (!term.empty() && lowercase(name).find(term) == std::string::npos &&
            lowercase(v->description).find(term) == std::string::npos)
            continue;
        std::cout << std::left << std::setw(24) << name << " " << std::setw(12) << v->version << " "
                  << std::setw(4) << v->runtime << " " << v->description << "\n";
        ++shown;
    }
    if (shown == 0)
        std::cerr << "no plugin on " << hub->spec()
                  << (term.empty() ? "" : " matches \"" + term + "\"; `adashta plugin search` lists all") << "\n";
    return 0;
}

int info(const Args& args) {
    if (args.positional.size() != 2) return usage();
    auto hub = hub_of(args);
    if (!hub) return fail(hub.error());
    auto index = hub->index();
    if (!index) return fail(index.error());
    const std::string& name = args.positional[1];
    auto p = index->packages().find(name);
    if (p == index->packages().end())
        return fail(make_error(Errc::unknown_plugin, "the hub " + hub->spec() + " has no plugin \"" + name +
                                                         "\" (`adashta plugin search` lists what it has)"));
    const PluginsFolder folder = plugins_folder(args);
    auto ring = keyring_of(args, folder);
    if (!ring) return fail(ring.error());
    const HubVersion* newest = index->newest(name);
    std::cout << name << ": " << newest->description << "\n"
              << "runtime " << newest->runtime << ", newest " << newest->version << ", on " << hub->spec() << "\n";
    for (const auto& [version, v] : p->second) {
        const Keyring::Entry* key = ring->find(v.key);
        std::cout << "  " << version << "  " << v.file << "  " << v.size << " bytes  sha256 " << v.sha256 << "\n"
                  << "      key " << (v.key.empty() ? "(unsigned)" : v.key) << ": "
                  << (v.key.empty()  ? "install refuses it"
                      : key ? "trusted (" + key->label + ", " + key->file + ")"
                            : "not trusted: install refuses it unless you --trust its publisher's key")
                  << "\n";
    }
    if (auto installed = folder.find(name)) std::cout << "installed: " << installed->version << " in " << installed->folder.string() << "\n";
    return 0;
}

int install_one(const Args& args) {
    if (args.positional.size() != 2) return usage();
    std::string name = args.positional[1], version;
    if (const auto at = name.find('@'); at != std::string::npos) {
        version = name.substr(at + 1);
        name.resize(at);
        if (version.empty()) return fail(make_error(Errc::bad_option, "plugin install: give NAME or NAME@VERSION"));
    }
    auto hub = hub_of(args);
    if (!hub) return fail(hub.error());
    const PluginsFolder folder = plugins_folder(args);
    auto ring = keyring_of(args, folder);
    if (!ring) return fail(ring.error());
    auto done = install(folder, *hub, *ring, name, version);
    if (!done) return fail(done.error());
    std::cout << "installed " << done->name << " " << done->version << " into " << done->folder.string()
              << " from " << done->hub << " (sha256 " << done->sha256 << ")\n";
    return 0;
}

int update(const Args& args) {
    if (args.positional.size() > 2) return usage();
    const PluginsFolder folder = plugins_folder(args);
    std::vector<Installed> targets;
    if (args.positional.size() == 2) {
        auto one = folder.find(args.positional[1]);
        if (!one) return fail(one.error());
        targets.push_back(std::move(*one));
    } else {
        targets = folder.installed();
        if (targets.empty()) {
            std::cout << "no plugins installed in " << folder.path().string() << "\n";
            return 0;
        }
    }
    auto ring = keyring_of(args, folder);
    if (!ring) return fail(ring.error());
    int failed = 0;
    for (const Installed& p : targets) {
        const HubSource hub{args.has("hub") ? args.value("hub") : p.hub};
        auto index = hub.index();
        const HubVersion* newest = index ? index->newest(p.name) : nullptr;
        if (!index || !newest) {
            const Error e = index ? make_error(Errc::unknown_plugin, "the hub " + hub.spec() + " no longer has \"" +
                                                                         p.name + "\"")
                                  : index.error();
            fail(e);
            ++failed;
            continue;
        }
        if (compare_versions(newest->version, p.version) <= 0) {
            std::cout << p.name << " " << p.version << " is the newest on " << hub.spec() << "\n";
            continue;
        }
        auto done = install(folder, hub, *ring, p.name, newest->version);
        if (!done) {
            fail(done.error());
            ++failed;
            continue;
        }
        std::cout << "updated " << p.name << " " << p.version << " -> " << done->version << "\n";
    }
    return failed ? 1 : 0;
}

int list(const Args& args) {
    if (args.positional.size() != 1) return usage();
    const PluginsFolder folder = plugins_folder(args);
    const std::vector<Installed> installed = folder.installed();
    if (installed.empty()) {
        std::cout << "no plugins installed in " << folder.path().string()
                  << " (`adashta plugin install NAME`; --plugins-dir or --data if they are elsewhere)\n";
        return 0;
    }
    std::map<std::string, Result<HubIndex>> indexes;  // one fetch per hub
    for (const Installed& p : installed) {
        const std::string spec = args.has("hub") ? args.value("hub") : p.hub;
        auto it = indexes.find(spec);
        if (it == indexes.end()) it = indexes.emplace(spec, HubSource{spec}.index()).first;
        std::string hub_says;
        if (!it->second) {
            hub_says = "hub unreachable (" + it->second.error().detail + ")";
        } else if (const HubVersion* newest = it->second->newest(p.name); !newest) {
            hub_says = "not on its hub any more";
        } else if (compare_versions(newest->version, p.version) > 0) {
            hub_says = "newer on the hub: " + newest->version + " (`adashta plugin update " + p.name + "`)";
        } else {
            hub_says = "newest";
        }
        std::cout << std::left << std::setw(24) << p.name << " " << std::setw(12) << p.version << " " << hub_says
                  << "\n";
    }
    return 0;
}

int remove_one(const Args& args) {
    if (args.positional.size() != 2) return usage();
    const PluginsFolder folder = plugins_folder(args);
    auto found = folder.find(args.positional[1]);
    if (!found) return fail(found.error());
    if (auto removed = folder.remove(args.positional[1]); !removed) return fail(removed.error());
    std::cout << "removed " << found->name << " " << found->version << " from " << folder.path().string() << "\n";
    return 0;
}

// The Lua scaffold of `plugin new`; NAME is replaced by the plugin's name.
constexpr std::string_view kScaffoldManifest = R"({
  "name": "NAME",
  "version": "0.1.0",
  "description": "NAME: what it does, in one line",
  "runtime": "lua",
  "entry": "main.lua",
  "hooks": ["on_message"],
  "queues": ["*"],
  "failure": "open",
  "configSchema": {
    "type": "object",
    "properties": { "maxLength": { "type": "integer", "minimum": 1 } },
    "additionalProperties": false
  }
}
)";

constexpr std::string_view kScaffoldMain = R"(-- NAME: a Lua plugin (docs/plugins.md is the guide).
-- on_message runs for every message a browser produces to a queue the plugin runs for,
-- before it is stored. Here: messages whose text is longer than config.maxLength (default
-- 280) are refused; others get the sender's user name added.
local max_length = adashta.config.maxLength or 280

return {
  on_message = function(msg, client)
    local data = msg.data
    if type(data) ~= "table" or type(data.text) ~= "string" then
      return adashta.pass()  -- not ours to judge: unchanged
    end
    if #data.text > max_length then
      return adashta.reject("text is longer than " .. max_length .. " bytes")
    end
    data.from = client and client.user or "guest"
    return adashta.pass(data)
  end,
}
)";

constexpr std::string_view kScaffoldTests = R"({
  "config": { "maxLength": 10 },
  "cases": [
    {
      "name": "a short text passes with its sender",
      "hook": "on_message",
      "message": { "queue": "chat", "id": "m1", "data": { "text": "hi" } },
      "client": { "session": "s1", "user": "alice" },
      "expect": { "verdict": "pass", "data": { "text": "hi", "from": "alice" } }
    },
    {
      "name": "a long text is refused",
      "hook": "on_message",
      "message": { "queue": "chat", "id": "m2", "data": { "text": "far too long for it" } },
      "client": { "session": "s1", "user": "alice" },
      "expect": { "verdict": "reject", "reason": "text is longer than 10 bytes" }
    },
    {
      "name": "data without text passes unchanged",
      "hook": "on_message",
      "message": { "queue": "chat", "id": "m3", "data": [1, 2, 3] },
      "client": { "session": "s1" },
      "expect": { "verdict": "pass", "data": [1, 2, 3] }
    }
  ]
}
)";

constexpr std::string_view kScaffoldReadme = R"(# NAME

A Lua plugin for Adashta Queue. `main.lua` holds its hooks, `adashta-plugin.json` its
manifest (docs/plugins.md, "The manifest"), `tests.json` its tests.

    adashta plugin test NAME           # runs tests.json: "3 passed, 0 failed"

Each case of `tests.json` names a hook, the message (and its `data`) and the client it gets,
and the verdict expected: `pass` (with the `data` the hook leaves), `drop` or `reject` (with
a `reason`). Add a case for everything the plugin promises.

To publish it on a hub: `adashta hub publish HUB_DIR NAME --key FILE` (docs/plugins.md,
"Publishing"); raise `version` in the manifest for each new release.
)";

std::string with_name(std::string_view text, const std::string& name) {
    std::string out{text};
    for (std::size_t at = 0; (at = out.find("NAME", at)) != std::string::npos; at += name.size())
        out.replace(at, 4, name);
    return out;
}

int scaffold(const Args& args) {
    if (args.positional.size() != 2) return usage();
    const std::string& name = args.positional[1];
    const std::string runtime = args.value("runtime", "lua");
    if (runtime == "js")
        return fail(make_error(Errc::bad_option,
                               "plugin new --runtime js: the JavaScript scaffold comes with the JS plugin host "
                               "(plugins/templates/js), which this build does not have yet; use --runtime lua"));
    if (runtime != "lua")
        return fail(make_error(Errc::bad_option, "--runtime \"" + runtime + "\": a plugin's runtime is lua or js"));
    const fs::path dir = fs::path{args.value("dir", "")} / name;
    std::error_code ec;
    if (fs::exists(dir, ec))
        return fail(make_error(Errc::bad_option, "\"" + dir.string() + "\" exists; pick another name or --dir"));
    // The manifest's own checks decide whether name is a plugin name: parse it before writing.
    const std::string manifest = with_name(kScaffoldManifest, name);
    if (auto m = parse_manifest(manifest, dir, kManifestFile); !m && m.error().detail.find("\"name\"") != std::string::npos)
        return fail(make_error(Errc::bad_option, "\"" + name + "\" is not a plugin name: lowercase letters, digits "
                                                               "and '-', starting with a letter, at most 64"));
    fs::create_directories(dir, ec);
    if (ec) return fail(make_error(Errc::storage_failed, "cannot make \"" + dir.string() + "\": " + ec.message()));
    const std::pair<std::string_view, std::string_view> files[] = {{kManifestFile, kScaffoldManifest},
                                                                   {"main.lua", kScaffoldMain},
                                                                   {kPackageTestsFile, kScaffoldTests},
                                                                   {"README.md", kScaffoldReadme}};
    for (const auto& [file, text] : files) {
        std::ofstream out(dir / file, std::ios::binary);
        out << with_name(text, name);
        if (!out) return fail(make_error(Errc::storage_failed, "cannot write \"" + (dir / file).string() + "\""));
    }
    if (auto m = read_manifest(dir); !m) return fail(m.error());
    std::cout << "made " << dir.string() << "/: adashta-plugin.json, main.lua, tests.json, README.md\n"
              << "next: `adashta plugin test " << dir.string() << "`\n";
    return 0;
}

int test(const Args& args) {
    if (args.positional.size() > 2) return usage();
    const fs::path folder = args.positional.size() == 2 ? fs::path{args.positional[1]} : fs::path{"."};
    auto manifest = read_manifest(folder);
    if (!manifest) return fail(manifest.error());
    if (manifest->runtime == Runtime::js)
        return fail(make_error(Errc::bad_plugin,
                               (folder / kManifestFile).string() +
                                   ": a JavaScript plugin; its tests run in the JS plugin host (`node --test` with "
                                   "plugins/host/testing.mjs), which this build does not have yet: nothing was run"));
    auto report = run_package_tests(folder);
    if (!report) return fail(report.error());
    if (!report->load_error.empty()) std::cout << "the plugin did not load: " << report->load_error << "\n";
    for (const CaseResult& c : report->cases)
        std::cout << (c.passed ? "ok    " : "FAIL  ") << c.name << (c.passed ? "" : ": " + c.detail) << "\n";
    std::cout << report->passed << " passed, " << report->failed << " failed\n";
    return report->failed == 0 ? 0 : 1;
}

}  // namespace

int cmd_plugin(int argc, char** argv) {
    auto args = parse_args(argc, argv, kFlags, "plugin");
    if (!args) return fail(args.error());
    if (args->has("help")) {
        std::cout << kHelp;
        return 0;
    }
    if (args->positional.empty()) return usage();
    const std::string& sub = args->positional[0];
    if (sub == "search") return search(*args);
    if (sub == "info") return info(*args);
    if (sub == "install") return install_one(*args);
    if (sub == "update") return update(*args);
    if (sub == "list") return list(*args);
    if (sub == "remove") return remove_one(*args);
    if (sub == "new") return scaffold(*args);
    if (sub == "test") return test(*args);
    if (sub == "reload") {
        const char* env = std::getenv("ADASHTA_DATA");
        return plugin_reload(*args, args->value("data", env && *env ? env : "adashta-data"));
    }
    constexpr std::string_view kSubcommands[] = {"search", "info", "install", "update",
                                                 "list",   "remove", "new",  "test", "reload"};
    std::string detail = "plugin: unknown subcommand \"" + sub + "\"";
    if (auto close = nearest(sub, kSubcommands)) detail += " (did you mean " + std::string{*close} + "?)";
    return fail(make_error(Errc::bad_option, detail + "; run `adashta plugin --help`"));
}

}  // namespace adashta::cli
