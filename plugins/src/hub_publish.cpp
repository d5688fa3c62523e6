#include "adashta/plugins/hub_publish.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "adashta/plugins/package.hpp"

namespace adashta::plugins {

namespace fs = std::filesystem;

namespace {

Status write_index(const fs::path& dir, const HubIndex& index) {
    const fs::path file = dir / kHubIndexFile;
    const fs::path partial = dir / (".index.json.partial-" + std::to_string(::getpid()));
    {
        std::ofstream out(partial, std::ios::binary);
        out << index.to_json();
        out.close();
        if (!out) return make_error(Errc::storage_failed, "cannot write \"" + partial.string() + "\"");
    }
    std::error_code ec;
    fs::rename(partial, file, ec);  // readers see the old index or the new one, never half
    if (ec) return make_error(Errc::storage_failed, "cannot write \"" + file.string() + "\": " + ec.message());
    return {};
}

// Removes a folder when it goes out of scope.
struct ScratchFolder {
    fs::path path;
    ~ScratchFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

Status init_hub(const fs::path& dir) {
    std::error_code ec;
    if (fs::exists(dir / kHubIndexFile, ec))
        return make_error(Errc::bad_option, "\"" + (dir / kHubIndexFile).string() +
                                                "\" exists: this is a hub already; publish into it with "
                                                "`adashta hub publish " + dir.string() + " FOLDER --key FILE`");
    fs::create_directories(dir, ec);
    if (ec) return make_error(Errc::storage_failed, "cannot make \"" + dir.string() + "\": " + ec.message());
    return write_index(dir, HubIndex{});
}

Result<HubVersion> publish(const fs::path& dir, const fs::path& plugin_folder, const SigningKey& key) {
    HubSource source{dir.string()};
    std::error_code ec;
    if (!fs::exists(dir / kHubIndexFile, ec))
        return make_error(Errc::hub_unavailable, "\"" + dir.string() + "\" has no index.json; make the hub with "
                                                                        "`adashta hub init " + dir.string() + "`");
    auto index = source.index();
    if (!index) return index.error();

    ScratchFolder scratch{dir / (".publishing-" + std::to_string(::getpid()))};
    fs::create_directories(scratch.path, ec);
    if (ec) return make_error(Errc::storage_failed, "cannot write into \"" + dir.string() + "\": " + ec.message());
    auto packed = pack(plugin_folder, scratch.path);
    if (!packed) return packed.error();
    const Manifest& m = packed->manifest;

    if (const HubVersion* existing = index->find(m.name, m.version)) {
        if (existing->sha256 == packed->sha256) return *existing;  // the same content again: nothing to do
        return make_error(Errc::package_refused,
                          m.name + " " + m.version + " is already on this hub with other content (sha256 " +
                              existing->sha256 + ", this folder packs to " + packed->sha256 +
                              "); published versions never change: raise \"version\" in " +
                              (plugin_folder / kManifestFile).string() + " and publish that");
    }
    HubVersion v;
    v.name = m.name;
    v.version = m.version;
    v.file = packed->file.filename().string();
    v.sha256 = packed->sha256;
    v.size = packed->size;
    v.runtime = m.runtime == Runtime::lua ? "lua" : "js";
    v.description = m.description;
    v.key = key.key_id();
    v.signature = key.sign(v.name, v.version, v.sha256);
    fs::rename(packed->file, dir / v.file, ec);
    if (ec) return make_error(Errc::storage_failed, "cannot write \"" + (dir / v.file).string() + "\": " + ec.message());
    index->add(v);
    if (auto written = write_index(dir, *index); !written) return written.error();
    return v;
}

}  // namespace adashta::plugins
