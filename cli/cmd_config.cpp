// adashta config check FILE / show: the edge's config file checked the way `adashta edge`
// reads it, without starting anything.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "access.hpp"
#include "adashta/json.hpp"
#include "adashta/plugins/plugin_set.hpp"
#include "adashta/store/queue_settings.hpp"
#include "args.hpp"
#include "commands.hpp"
#include "edge_settings.hpp"

namespace adashta::cli {
namespace {

constexpr std::string_view kHelp = R"(Usage: adashta config check FILE
       adashta config show [EDGE FLAGS...]

check: reads FILE as `adashta edge --config FILE` would, with the ADASHTA_* variables of
this shell, and checks everything the edge checks at start: every key and its value, the
queues and the auth section, the token key files. Prints "FILE: ok" and a summary (exit 0),
or each problem on a line of its own (exit 1):
  FILE: key: what is wrong; allowed: ...

show: the settings an edge started with the same flags (and --config, and ADASHTA_*) would
run with, and where each comes from: flag, env, file or default.

The keys, their flags and variables: docs/operations.md, "The config file".
)";

struct Source_text {
    std::string value;
    std::string from;
};

// Where a flag's value comes from, for `show`: "flag", "env ADASHTA_HTTP", "file a.json".
Source_text describe(const Args& args, const Flag& flag) {
    auto it = args.sources.find(flag.name);
    if (it == args.sources.end()) return {"", "default"};
    std::string value = args.has(flag.name) ? args.value(flag.name) : "false";
    if (!flag.takes_value) value = args.has(flag.name) ? "true" : "false";
    if (flag.name == "token-secret" && !value.empty()) value = "(hidden)";
    switch (it->second.kind) {
        case Source::flag:
            return {value, "flag --" + std::string{flag.name}};
        case Source::env:
            return {value, "env " + env_variable(flag)};
        case Source::file:
            return {value, "file " + it->second.path};
    }
    return {value, "?"};
}

// The file parses as a JSON object: the queue and auth checks have something to read.
bool is_object_file(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) return false;
    std::ostringstream text;
    text << in.rdbuf();
    return json::ObjectView::parse(text.str()).ok();
}

// The config's "plugins" as the edge will load them, short of running their code: each is
// there, its manifest reads, and its config passes the manifest's schema.
void check_plugins(const edge::EdgeOptions& o, std::vector<std::string>& problems) {
    namespace fs = std::filesystem;
    auto entries = plugins::read_plugin_entries(o.config);
    if (!entries) return problems.push_back(entries.error().detail);
    const fs::path dir = o.plugins_dir.empty() ? fs::path{o.data_dir} / "plugins" : fs::path{o.plugins_dir};
    for (const plugins::PluginEntry& entry : *entries) {
        const fs::path folder = entry.path.empty() ? dir / entry.name : entry.path;
        std::error_code ec;
        if (!fs::is_directory(folder, ec)) {
            problems.push_back(entry.where + ": no plugin folder " + folder.string() +
                               (entry.name.empty() ? "" : " (install it: adashta plugin install " + entry.name + ")"));
            continue;
        }
        auto manifest = plugins::read_manifest(folder);
        if (!manifest) {
            problems.push_back(entry.where + ": " + manifest.error().detail);
            continue;
        }
        if (auto ok = plugins::check_config(*manifest, entry.config, entry.where + ".config"); !ok)
            problems.push_back(ok.error().detail);
    }
}

// The mesh reads its key files only when it starts; check that they are there now.
void check_key_files(const Args& args, const edge::EdgeOptions& o,
                     std::vector<std::string>& problems) {
    namespace fs = std::filesystem;
    std::error_code ec;
    // A key is FILE_secret, or the public FILE beside it (read as FILE_secret).
    if (!o.mesh_key.empty() && !fs::is_regular_file(o.mesh_key, ec) &&
        !fs::is_regular_file(o.mesh_key + "_secret", ec))
        problems.push_back(args.origin("mesh-key") + ": " + o.mesh_key +
                           " does not exist; allowed: a key file of `adashta keys new`");
    if (!o.mesh_allow.empty() && !fs::is_regular_file(o.mesh_allow, ec))
        problems.push_back(args.origin("mesh-allow") + ": " + o.mesh_allow +
                           " does not exist; allowed: an allow-list file (docs/security.md)");
    // The token key files too, so the problem names the key the file gives them by.
    for (const auto& [flag, path] : {std::pair{"token-secret-file", &o.token_secret_file},
                                     std::pair{"token-public-key", &o.token_public_key}})
        if (!path->empty() && !fs::is_regular_file(*path, ec))
            problems.push_back(args.origin(flag) + ": " + *path +
                               " does not exist; allowed: a file holding the key");
}

void print_summary(const std::string& path, const edge::EdgeOptions& o,
                   const std::map<std::string, store::QueueSettings>& queues,
                   const edge::Access& access) {
    std::cout << path << ": ok\n";
    std::cout << "  http " << o.http << ", mesh " << o.mesh << ", data " << o.data_dir
              << (o.durable ? " (durable)" : "") << "\n";
    std::string names;
    for (const auto& [name, settings] : queues)
        names += (names.empty() ? "" : ", ") + name + (settings.durable ? "" : " (at most once)");
    std::cout << "  queues: " << (names.empty() ? "none configured (defaults)" : names) << "\n";
    std::cout << "  auth " << edge::auth_mode_name(access.mode())
              << (access.has_key() ? " with a token key" : "") << "; allowed origins: ";
    std::string origins;
    for (const auto& origin : access.allowed_origins())
        origins += (origins.empty() ? "" : ", ") + origin;
    std::cout << (origins.empty() ? "the edge's own" : origins) << "\n";
}

int config_check(int argc, char** argv) {
    static constexpr Flag kFlags[] = {{"help", false}};
    auto given = parse_args(argc, argv, kFlags, "config");
    if (!given) return fail(given.error());
    if (given->has("help")) {
        std::cout << kHelp;
        return 0;
    }
    if (given->positional.size() != 1) {
        std::cerr << "adashta: bad_option: "
                  << (given->positional.empty() ? "FILE is missing"
                                                : "config check takes one FILE")
                  << "\nUsage: adashta config check FILE\n";
        return 2;
    }
    const std::string path = given->positional[0];
    Args args;
    args.known = edge_flags();
    args.command = "edge";
    args.flags["config"] = path;
    args.sources["config"] = Source{};

    std::vector<std::string> problems = add_edge_sources(args);
    auto options = edge_options(args);
    if (problems.empty() && !options) problems.push_back(options.error().detail);
    std::map<std::string, store::QueueSettings> queues;
    std::optional<edge::Access> access;
    if (is_object_file(path)) {
        auto loaded = store::load_queue_settings(path);
        if (loaded)
            queues = std::move(*loaded);
        else
            problems.push_back(loaded.error().detail);
        if (options) check_plugins(*options, problems);
        if (options) {
            const std::size_t before = problems.size();
            check_key_files(args, *options, problems);
            // Access reads the token key files; a missing one is reported above already.
            auto made = edge::Access::make(*options);
            if (made)
                access = std::move(*made);
            else if (problems.size() == before)
                problems.push_back(made.error().detail);
        }
    }
    if (!problems.empty()) {
        for (const auto& p : problems) std::cerr << p << "\n";
        return 1;
    }
    print_summary(path, *options, queues, *access);
    return 0;
}

int config_show(int argc, char** argv) {
    auto args = parse_args(argc, argv, edge_flags(), "edge");
    if (!args) return fail(args.error());
    if (auto problems = add_edge_sources(*args); !problems.empty()) {
        for (const auto& p : problems) std::cerr << "adashta: bad_option: " << p << "\n";
        return 2;
    }
    if (auto options = edge_options(*args); !options) return fail(options.error());
    // Columns as wide as the longest flag, key and variable, with a space between.
    std::cout << std::left << std::setw(26) << "FLAG" << std::setw(21) << "KEY" << std::setw(32)
              << "VARIABLE" << std::setw(24) << "VALUE" << "FROM\n";
    for (const Flag& flag : edge_flags()) {
        if (flag.name == "help") continue;
        const auto [value, from] = describe(*args, flag);
        const std::string key = config_key(flag);
        const std::string variable = env_variable(flag);
        std::cout << std::setw(26) << ("--" + std::string{flag.name} + " ") << std::setw(21)
                  << ((key.empty() ? "-" : key) + " ") << std::setw(32)
                  << ((variable.empty() ? "-" : variable) + " ") << std::setw(24)
                  << (from == "default" ? "-" : value) << from << "\n";
    }
    return 0;
}

}  // namespace

int cmd_config(int argc, char** argv) {
    const std::string_view what = argc > 0 ? std::string_view{argv[0]} : std::string_view{};
    if (what == "check") return config_check(argc - 1, argv + 1);
    if (what == "show") return config_show(argc - 1, argv + 1);
    if (what == "--help" || what == "help") {
        std::cout << kHelp;
        return 0;
    }
    std::cerr << "adashta: bad_option: "
              << (what.empty() ? std::string{"config needs check or show"}
                               : "unknown config command \"" + std::string{what} + "\"")
              << "\n"
              << kHelp;
    return 2;
}

}  // namespace adashta::cli
