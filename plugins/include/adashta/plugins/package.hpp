// A plugin package: a plugin folder packed as a gzip tarball NAME-VERSION.tgz, and unpacked
// again with every entry checked (docs/plugins.md, "Packages"). Packing and unpacking go
// through libarchive.
//
//   auto packed = plugins::pack("plugins/official/hello", "/srv/hub");  // hello-1.0.0.tgz
//   if (!packed) return packed.error();            // bad_plugin: the folder's manifest
//   auto m = plugins::unpack(packed->file, "/tmp/staging");  // package_refused: a bad entry
//
// A package holds the folder's regular files and folders, flat (adashta-plugin.json at the
// top), with normalised owners, modes and times, so packing the same folder twice gives the
// same bytes and the same sha256.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "adashta/plugins/manifest.hpp"
#include "adashta/result.hpp"

namespace adashta::plugins {

// What unpacking accepts at most. A package over any of these is refused as a whole: the
// caps bound what a hostile tarball (a gzip bomb, a million empty files) can cost.
struct UnpackLimits {
    std::uint64_t package_bytes = 64u << 20;  // the .tgz file itself
    std::uint64_t entry_bytes = 32u << 20;    // one file, unpacked
    std::uint64_t total_bytes = 128u << 20;   // all files together, unpacked
    std::size_t entries = 10'000;             // files and folders
};

// The file an installed package's folder keeps its install record in (hub_install.hpp); a
// package may not bring its own.
inline constexpr std::string_view kInstallRecordFile = ".adashta-installed.json";

struct Packed {
    std::filesystem::path file;  // out_dir/NAME-VERSION.tgz
    std::string sha256;          // of file, lowercase hex
    std::uint64_t size = 0;      // of file, bytes
    Manifest manifest;           // the folder's, as read_manifest gave it
};

// Packs folder into out_dir/NAME-VERSION.tgz (replacing a file of that name). Fails with
// bad_plugin when the folder's manifest is not valid (read_manifest), package_refused when
// the folder holds a link, a device or a file over the limits (the package could not be
// unpacked), and storage_failed when a file cannot be read or written. .git folders are left
// out.
Result<Packed> pack(const std::filesystem::path& folder, const std::filesystem::path& out_dir,
                    const UnpackLimits& limits = {});

// Unpacks tarball into dest (which must not exist; it is made) and reads its manifest.
// Fails with package_refused, naming the entry, for: an absolute path, a ".." part, a
// symbolic or hard link, a device, FIFO or socket, an entry listed twice, the install
// record's name, an entry or a total over limits, a file that is not a gzip tarball; with
// bad_plugin when the top has no valid adashta-plugin.json. On a failure dest is removed
// again.
Result<Manifest> unpack(const std::filesystem::path& tarball, const std::filesystem::path& dest,
                        const UnpackLimits& limits = {});

// SHA-256 (libsodium) of bytes, lowercase hex.
std::string sha256_hex(std::string_view bytes);
// SHA-256 of a file's bytes; storage_failed when it cannot be read.
Result<std::string> sha256_file(const std::filesystem::path& file);

// Versions in semver order: -1 when a < b, 0 equal, 1 a > b (MAJOR.MINOR.PATCH numerically,
// a -pre release before its release, pre-release parts compared as semver 2 says). Both
// must be versions read_manifest accepts.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace adashta::plugins
