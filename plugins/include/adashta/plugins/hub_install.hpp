// Installing plugins from a hub into a plugins folder, and what is installed there
// (docs/plugins.md, "Packages": the folder's layout and the install record).
//
//   PluginsFolder folder{"adashta-data/plugins"};
//   auto ring = Keyring::read({folder.trusted_keys()});
//   auto done = install(folder, HubSource{"http://127.0.0.1:8000"}, *ring, "hello", "");
//   for (const Installed& p : folder.installed()) std::cout << p.name << " " << p.version;
//
// Layout: <plugins>/NAME/ is the unpacked package with its record NAME/.adashta-installed.json
// ({"name","version","hub","sha256"}); <plugins>/trusted-keys is the folder's keyring.
// Installing unpacks into a staging folder beside NAME/, checks it, and swaps it in with one
// rename (renameat2 RENAME_EXCHANGE for an update), so NAME/ is always either the whole old
// version or the whole new one. Staging folders are named .staging-*, and left-overs of an
// install that was killed are removed by the next one.
//
// Threads: none of it keeps state; two installs of one plugin at the same time are not
// supported (the second's swap wins).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "adashta/plugins/hub_index.hpp"
#include "adashta/plugins/hub_keys.hpp"
#include "adashta/plugins/package.hpp"
#include "adashta/result.hpp"

namespace adashta::plugins {

struct Installed {
    std::string name;              // the package's name (and its folder's)
    std::string version;           // installed version
    std::string hub;               // the --hub it came from
    std::string sha256;            // of the tarball it was unpacked from
    std::filesystem::path folder;  // <plugins>/NAME
};

class PluginsFolder {
public:
    explicit PluginsFolder(std::filesystem::path path) : path_(std::move(path)) {}
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path trusted_keys() const { return path_ / "trusted-keys"; }

    // Every plugin with an install record, in name order (folders without one are left out:
    // a plugin copied in by hand is the edge's business, not the hub's).
    std::vector<Installed> installed() const;
    // NAME's record; unknown_plugin when NAME is not installed.
    Result<Installed> find(std::string_view name) const;
    // Removes NAME/ (renamed aside first, so a half-removed plugin is never seen as one);
    // unknown_plugin when it is not installed.
    Status remove(std::string_view name) const;

private:
    std::filesystem::path path_;  // the plugins folder
};

// Installs name at version (empty: the hub's newest) from hub into folder: the index entry's
// signature checked against keyring first (signature_refused), then the tarball fetched (at
// most its size in the index) and its size and sha256 checked (package_refused), unpacked
// with unpack()'s refusals, its manifest's name and version checked against the entry
// (package_refused), and swapped in. unknown_plugin when the hub has no such package or
// version; hub_unavailable when the hub cannot be read. Returns what is installed now.
Result<Installed> install(const PluginsFolder& folder, const HubSource& hub, const Keyring& keyring,
                          std::string_view name, std::string_view version, const UnpackLimits& limits = {});

}  // namespace adashta::plugins
