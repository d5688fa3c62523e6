#include "adashta/plugins/manifest.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "adashta/json.hpp"
#include "adashta/plugins/json_schema.hpp"

namespace adashta::plugins {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHookNames[kHookCount] = {"on_connect", "on_disconnect", "on_message",
                                                     "on_deliver", "on_produce",  "on_http"};

struct Named {
    std::string_view name;
    Permission permission;
};
constexpr Named kPermissions[] = {{"produce", Permission::produce},
                                  {"store", Permission::store},
                                  {"http", Permission::http},
                                  {"routes", Permission::routes}};

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || !(name[0] >= 'a' && name[0] <= 'z')) return false;
    if (name.back() == '-') return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool is_number(std::string_view part) {
    if (part.empty() || part.size() > 9) return false;
    if (part.size() > 1 && part[0] == '0') return false;
    return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// MAJOR.MINOR.PATCH with an optional -PRERELEASE of [0-9A-Za-z.-] (semver 2, without build
// metadata: the hub orders versions, and "+build" would not order).
bool is_valid_version(std::string_view version) {
    const auto dash = version.find('-');
    std::string_view core = version.substr(0, dash);
    if (dash != std::string_view::npos) {
        const std::string_view pre = version.substr(dash + 1);
        if (pre.empty() || pre.size() > 64) return false;
        for (char c : pre)
            if (!is_lower_alnum(c) && !(c >= 'A' && c <= 'Z') && c != '.' && c != '-') return false;
    }
    for (int i = 0; i < 3; ++i) {
        const auto dot = core.find('.');
        if ((i < 2) == (dot == std::string_view::npos)) return false;
        if (!is_number(core.substr(0, dot))) return false;
        core = dot == std::string_view::npos ? std::string_view{} : core.substr(dot + 1);
    }
    return true;
}

// A relative path that stays inside the package: no absolute path, no "..", no empty part.
bool is_inside(std::string_view path) {
    if (path.empty() || path.front() == '/' || path.find('\\') != std::string_view::npos) return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const std::string_view part =
            path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part.empty() || part == "..") return false;
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return true;
}

// Errors name the file and the key: "shout/adashta-plugin.json: \"hooks\"[1]: ...".
class Reader {
public:
    explicit Reader(std::string_view file) : file_(file) {}
    Error fail(std::string_view key, std::string_view what) const {
        std::string detail{file_};
        if (!key.empty()) {
            detail += ": ";
            detail += key;
        }
        detail += ": ";
        detail += what;
        return make_error(Errc::bad_plugin, std::move(detail));
    }
    Result<std::string> string(std::string_view key, std::string_view raw) const {
        auto s = json::unquote(raw);
        if (!s) return fail(quoted(key), "must be a string");
        return std::move(*s);
    }
    Result<std::vector<std::string>> strings(std::string_view key, std::string_view raw) const {
        auto items = json::array_elements(raw);
        if (!items) return fail(quoted(key), "must be an array of strings");
        std::vector<std::string> out;
        for (std::size_t i = 0; i < items->size(); ++i) {
            auto s = json::unquote((*items)[i]);
            if (!s) return fail(quoted(key) + "[" + std::to_string(i) + "]", "must be a string");
            out.push_back(std::move(*s));
        }
        return out;
    }
    // Appended piece by piece: GCC 12 -O3 warns falsely on "x" + std::string (-Wrestrict).
    static std::string quoted(std::string_view key) {
        std::string out;
        out.reserve(key.size() + 2);
        out += '"';
        out += key;
        out += '"';
        return out;
    }

private:
    std::string file_;  // the manifest's path, as errors show it
};

Status read_limits(const Reader& r, std::string_view raw, Limits& limits) {
    auto obj = json::ObjectView::parse(raw);
    if (!obj) return r.fail("\"limits\"", "must be an object like {\"memoryMB\": 16, \"callMs\": 50}");
    for (const auto& [key, value] : obj->members()) {
        if (key == "memoryMB") {
            const auto mb = obj->integer("memoryMB");
            if (!mb || *mb < 1 || static_cast<std::size_t>(*mb) > (kMaxMemoryBytes >> 20))
                return r.fail("\"limits\".\"memoryMB\"",
                              "must be a whole number of MiB from 1 to " +
                                  std::to_string(kMaxMemoryBytes >> 20));
            limits.memory_bytes = static_cast<std::size_t>(*mb) << 20;
        } else if (key == "callMs") {
            const auto ms = obj->integer("callMs");
            if (!ms || *ms < 1 || *ms > kMaxCallMs)
                return r.fail("\"limits\".\"callMs\"",
                              "must be a whole number of milliseconds from 1 to " +
                                  std::to_string(kMaxCallMs));
            limits.call_ms = static_cast<int>(*ms);
        } else {
            return r.fail("\"limits\".\"" + key + "\"", "is not a known limit (memoryMB, callMs)");
        }
    }
    return {};
}

Status read_hooks(const Reader& r, std::string_view raw, Manifest& m) {
    auto names = r.strings("hooks", raw);
    if (!names) return names.error();
    if (names->empty()) return r.fail("\"hooks\"", "must name at least one hook");
    for (std::size_t i = 0; i < names->size(); ++i) {
        const auto* found = std::find(std::begin(kHookNames), std::end(kHookNames), (*names)[i]);
        if (found == std::end(kHookNames))
            return r.fail("\"hooks\"[" + std::to_string(i) + "]",
                          "\"" + (*names)[i] +
                              "\" is not a hook (on_connect, on_disconnect, on_message, "
                              "on_deliver, on_produce, on_http)");
        const auto hook = static_cast<Hook>(found - std::begin(kHookNames));
        if (m.has_hook(hook))
            return r.fail("\"hooks\"[" + std::to_string(i) + "]", "names \"" + (*names)[i] + "\" twice");
        m.hooks.push_back(hook);
    }
    return {};
}

Status read_permissions(const Reader& r, std::string_view raw, Manifest& m) {
    auto names = r.strings("permissions", raw);
    if (!names) return names.error();
    for (std::size_t i = 0; i < names->size(); ++i) {
        const auto* found = std::find_if(std::begin(kPermissions), std::end(kPermissions),
                                         [&](const Named& p) { return p.name == (*names)[i]; });
        if (found == std::end(kPermissions))
            return r.fail("\"permissions\"[" + std::to_string(i) + "]",
                          "\"" + (*names)[i] + "\" is not a permission (produce, store, http, routes)");
        if (!m.may(found->permission)) m.permissions.push_back(found->permission);
    }
    return {};
}

Status check_path(const Reader& r, const fs::path& folder, std::string_view key,
                  const std::string& path, bool directory) {
    if (!is_inside(path))
        return r.fail(Reader::quoted(key), "\"" + path + "\" must be a relative path inside the package");
    std::error_code ec;
    const auto status = fs::status(folder / path, ec);
    const bool ok = directory ? fs::is_directory(status) : fs::is_regular_file(status);
    if (!ok)
        return r.fail(Reader::quoted(key), "\"" + path + "\" is not a " +
                                               (directory ? "folder" : "file") + " in " + folder.string());
    return {};
}

}  // namespace

std::string_view hook_name(Hook hook) { return kHookNames[static_cast<std::size_t>(hook)]; }

bool Manifest::has_hook(Hook hook) const {
    return std::find(hooks.begin(), hooks.end(), hook) != hooks.end();
}

bool Manifest::may(Permission permission) const {
    return std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
}

Result<Manifest> read_manifest(const fs::path& folder) {
    const fs::path path = folder / kManifestFile;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_error(Errc::bad_plugin, path.string() +
                                                ": cannot be read: a plugin folder holds its "
                                                "manifest there (docs/plugins.md, \"The manifest\")");
    std::string text;
    text.resize(kMaxManifestBytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxManifestBytes)
        return make_error(Errc::bad_plugin, path.string() + ": is larger than " +
                                                std::to_string(kMaxManifestBytes >> 10) + " KiB");
    return parse_manifest(text, folder, path.string());
}

Result<Manifest> parse_manifest(std::string_view text, const fs::path& folder, std::string_view file) {
    const Reader r{file};
    auto obj = json::ObjectView::parse(text);
    if (!obj) {
        const auto failure = json::first_failure(text);
        return r.fail("", failure ? "is not a JSON object (byte " + std::to_string(failure->offset) +
                                        ": " + failure->expected + ")"
                                  : std::string{"is not a JSON object"});
    }
    Manifest m;
    m.folder = folder;
    for (const auto& [key, raw] : obj->members()) {
        Status ok;
        if (key == "name" || key == "version" || key == "description" || key == "entry" ||
            key == "runtime" || key == "failure" || key == "assets") {
            auto s = r.string(key, raw);
            if (!s) return s.error();
            if (key == "name") m.name = std::move(*s);
            else if (key == "version") m.version = std::move(*s);
            else if (key == "description") m.description = std::move(*s);
            else if (key == "entry") m.entry = std::move(*s);
            else if (key == "assets") m.assets = std::move(*s);
            else if (key == "runtime") {
                if (*s != "lua" && *s != "js")
                    return r.fail("\"runtime\"", "must be \"lua\" or \"js\", not \"" + *s + "\"");
                m.runtime = *s == "lua" ? Runtime::lua : Runtime::js;
            } else {
                if (*s != "open" && *s != "closed")
                    return r.fail("\"failure\"", "must be \"open\" (pass the message) or \"closed\" "
                                                 "(refuse it), not \"" + *s + "\"");
                m.failure = *s == "open" ? FailurePolicy::open : FailurePolicy::closed;
            }
        } else if (key == "hooks") {
            ok = read_hooks(r, raw, m);
        } else if (key == "queues") {
            auto q = r.strings(key, raw);
            if (!q) return q.error();
            m.queues = std::move(*q);
        } else if (key == "permissions") {
            ok = read_permissions(r, raw, m);
        } else if (key == "limits") {
            ok = read_limits(r, raw, m.limits);
        } else if (key == "configSchema") {
            if (auto schema = json_schema::check_schema(raw); !schema)
                return r.fail("\"configSchema\"", schema.error().detail);
            m.config_schema = std::string{raw};
        } else {
            return r.fail(Reader::quoted(key),
                          "is not a manifest key (name, version, description, runtime, entry, "
                          "hooks, queues, failure, permissions, limits, configSchema, assets)");
        }
        if (!ok) return ok.error();
    }
    for (std::string_view required : {"name", "version", "runtime", "entry", "hooks"})
        if (!obj->has(required)) return r.fail(Reader::quoted(required), "is missing");
    if (!is_valid_name(m.name))
        return r.fail("\"name\"", "\"" + m.name +
                                      "\" must be 1 to 64 of a-z 0-9 -, start with a letter and "
                                      "not end with -");
    if (!is_valid_version(m.version))
        return r.fail("\"version\"", "\"" + m.version + "\" must be MAJOR.MINOR.PATCH, e.g. 1.0.0");
    if (auto ok = check_path(r, folder, "entry", m.entry, false); !ok) return ok.error();
    if (!m.assets.empty())
        if (auto ok = check_path(r, folder, "assets", m.assets, true); !ok) return ok.error();
    if (m.has_hook(Hook::on_http) && !m.may(Permission::routes)) {
        std::string why = "names on_http, which serves HTTP routes under /plugins/";
        why += m.name;
        why += "/: add \"routes\" to \"permissions\"";
        return r.fail("\"hooks\"", why);
    }
    for (std::size_t i = 0; i < m.queues.size(); ++i)
        if (m.queues[i].empty())
            return r.fail("\"queues\"[" + std::to_string(i) + "]", "must not be empty (\"*\" is every queue)");
    return m;
}

Status check_config(const Manifest& manifest, std::string_view config, std::string_view where) {
    const std::string_view text = config.empty() ? std::string_view{"{}"} : config;
    if (!json::ObjectView::parse(text))
        return make_error(Errc::bad_plugin, std::string{where} + ": the config of plugin " +
                                                manifest.name + " must be a JSON object");
    if (manifest.config_schema.empty()) return {};
    return json_schema::validate(manifest.config_schema, text, where);
}

}  // namespace adashta::plugins
