#include "adashta/plugins/hub_install.hpp"

#include <fcntl.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <stdio.h>  // renameat2 (glibc 2.28)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>

namespace adashta::plugins {

namespace fs = std::filesystem;

namespace {

// A name for a folder beside NAME/ that no other install picks.
fs::path aside(const fs::path& folder, std::string_view kind, std::string_view name) {
    static std::atomic<unsigned> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return folder / ("." + std::string{kind} + "-" + std::string{name} + "-" + std::to_string(::getpid()) + "-" +
                     std::to_string(now) + "-" + std::to_string(counter++));
}

// Removes staging and removal folders an install or remove that was killed left behind.
void remove_leftovers(const fs::path& folder) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with(".staging-") || name.starts_with(".removing-")) fs::remove_all(entry.path(), ec);
    }
}

Result<Installed> read_record(const fs::path& folder) {
    std::ifstream in(folder / kInstallRecordFile);
    if (!in) return make_error(Errc::unknown_plugin, "");
    std::stringstream text;
    text << in.rdbuf();
    rapidjson::Document doc;
    doc.Parse(text.str().c_str());
    auto field = [&](const char* key) -> std::string {
        return doc.IsObject() && doc.HasMember(key) && doc[key].IsString() ? doc[key].GetString() : "";
    };
    Installed out{field("name"), field("version"), field("hub"), field("sha256"), folder};
    if (out.name.empty() || out.version.empty())
        return make_error(Errc::bad_plugin, (folder / kInstallRecordFile).string() +
                                                ": not an install record; remove the folder and install the plugin again");
    return out;
}

Status write_record(const Installed& record) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    for (auto [key, value] : {std::pair{"name", &record.name}, {"version", &record.version}, {"hub", &record.hub},
                              {"sha256", &record.sha256}}) {
        w.Key(key);
        w.String(value->c_str(), static_cast<rapidjson::SizeType>(value->size()));
    }
    w.EndObject();
    std::ofstream out(record.folder / kInstallRecordFile, std::ios::binary);
    out << buffer.GetString() << "\n";
    out.close();
    if (!out) return make_error(Errc::storage_failed, "cannot write \"" + (record.folder / kInstallRecordFile).string() + "\"");
    return {};
}

Error not_installed(std::string_view name, const fs::path& folder) {
    return make_error(Errc::unknown_plugin, "\"" + std::string{name} + "\" is not installed in \"" + folder.string() +
                                                "\" (`adashta plugin list` shows what is; give --plugins-dir "
                                                "or --data if it is elsewhere)");
}

}  // namespace

std::vector<Installed> PluginsFolder::installed() const {
    std::vector<Installed> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(path_, ec)) {
        if (!entry.is_directory(ec) || entry.path().filename().string().starts_with(".")) continue;
        if (auto record = read_record(entry.path())) out.push_back(std::move(*record));
    }
    std::sort(out.begin(), out.end(), [](const Installed& a, const Installed& b) { return a.name < b.name; });
    return out;
}

Result<Installed> PluginsFolder::find(std::string_view name) const {
    auto record = read_record(path_ / std::string{name});
    if (!record && record.error().code == Errc::unknown_plugin) return not_installed(name, path_);
    return record;
}

Status PluginsFolder::remove(std::string_view name) const {
    auto record = find(name);
    if (!record) return record.error();
    const fs::path away = aside(path_, "removing", name);
    std::error_code ec;
    fs::rename(record->folder, away, ec);
    if (ec) return make_error(Errc::storage_failed, "cannot remove \"" + record->folder.string() + "\": " + ec.message());
    fs::remove_all(away, ec);
    return {};
}

Result<Installed> install(const PluginsFolder& folder, const HubSource& hub, const Keyring& keyring,
                          std::string_view name, std::string_view version, const UnpackLimits& limits) {
    auto index = hub.index();
    if (!index) return index.error();
    const HubVersion* entry = version.empty() ? index->newest(name) : index->find(name, version);
    if (!entry) {
        if (!index->newest(name))
            return make_error(Errc::unknown_plugin, "the hub " + hub.spec() + " has no plugin \"" + std::string{name} +
                                                        "\" (`adashta plugin search` lists what it has)");
        return make_error(Errc::unknown_plugin, "the hub " + hub.spec() + " has no version " + std::string{version} +
                                                    " of \"" + std::string{name} + "\" (`adashta plugin info " +
                                                    std::string{name} + "` lists its versions)");
    }
    // The signature first: it vouches for the entry's sha256 and size, which then vouch for the bytes.
    if (auto signed_ok = keyring.verify(entry->name, entry->version, entry->sha256, entry->key, entry->signature);
        !signed_ok)
        return signed_ok.error();
    if (entry->size > limits.package_bytes)
        return make_error(Errc::package_refused, entry->file + " is " + std::to_string(entry->size) +
                                                     " bytes; a package may have at most " +
                                                     std::to_string(limits.package_bytes));
    auto bytes = hub.fetch(entry->file, entry->size);
    if (!bytes) {
        if (bytes.error().code == Errc::package_refused)
            return make_error(Errc::package_refused, hub.where(entry->file) + " is longer than the " +
                                                         std::to_string(entry->size) + " bytes the index says; it was changed "
                                                         "after it was published: do not use it, tell the hub's owner");
        return bytes.error();
    }
    if (bytes->size() != entry->size)
        return make_error(Errc::package_refused, hub.where(entry->file) + " is " + std::to_string(bytes->size()) +
                                                     " bytes, the index says " + std::to_string(entry->size) +
                                                     ": it was changed or cut short; try again, and if it stays, "
                                                     "tell the hub's owner");
    const std::string sha = sha256_hex(*bytes);
    if (sha != entry->sha256)
        return make_error(Errc::package_refused, "the sha256 of " + hub.where(entry->file) + " is " + sha +
                                                     ", the signed index says " + entry->sha256 +
                                                     ": the tarball was tampered with or damaged; do not use it, "
                                                     "tell the hub's owner");

    std::error_code ec;
    fs::create_directories(folder.path(), ec);
    if (ec) return make_error(Errc::storage_failed, "cannot make \"" + folder.path().string() + "\": " + ec.message());
    remove_leftovers(folder.path());
    const fs::path tarball = aside(folder.path(), "staging", std::string{name} + "-tgz");
    {
        std::ofstream out(tarball, std::ios::binary);
        out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
        out.close();
        if (!out) return make_error(Errc::storage_failed, "cannot write \"" + tarball.string() + "\"");
    }
    const fs::path staging = aside(folder.path(), "staging", name);
    auto manifest = unpack(tarball, staging, limits);
    fs::remove(tarball, ec);
    if (!manifest) {
        if (manifest.error().code == Errc::bad_plugin)
            return make_error(Errc::package_refused, entry->file + ": " + manifest.error().detail);
        return manifest.error();
    }
    if (manifest->name != entry->name || manifest->version != entry->version) {
        fs::remove_all(staging, ec);
        return make_error(Errc::package_refused, entry->file + " holds " + manifest->name + " " + manifest->version +
                                                     ", not the " + entry->name + " " + entry->version +
                                                     " the index lists; tell the hub's owner");
    }
    Installed record{entry->name, entry->version, hub.spec(), entry->sha256, staging};
    if (!hub.is_http() && !hub.spec().empty()) record.hub = fs::absolute(hub.spec().starts_with("file://")
                                                                              ? hub.spec().substr(7)
                                                                              : hub.spec()).lexically_normal().string();
    if (auto written = write_record(record); !written) {
        fs::remove_all(staging, ec);
        return written.error();
    }
    const fs::path target = folder.path() / entry->name;
    if (fs::exists(target, ec)) {
        // One step: NAME/ is the old version up to here and the new one after.
        if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
            fs::remove_all(staging, ec);
            return make_error(Errc::storage_failed, "cannot replace \"" + target.string() + "\": " +
                                                        std::error_code{errno, std::generic_category()}.message());
        }
        fs::remove_all(staging, ec);  // now the old version
    } else {
        fs::rename(staging, target, ec);
        if (ec) {
            fs::remove_all(staging, ec);
            return make_error(Errc::storage_failed, "cannot install into \"" + target.string() + "\": " + ec.message());
        }
    }
    record.folder = target;
    return record;
}

}  // namespace adashta::plugins
