// A plugin hub's index.json: which packages it has, in which versions, with each version's
// file, size, sha256 and signature (docs/plugins.md, "Hubs", has the format).
//
//   auto index = plugins::HubIndex::parse(text, "https://hub.example/index.json");
//   const HubVersion* v = index->newest("hello");   // nullptr: not on this hub
//   index->add(entry);  std::string json = index->to_json();
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "adashta/result.hpp"

namespace adashta::plugins {

inline constexpr int kHubIndexFormat = 1;
inline constexpr std::string_view kHubIndexFile = "index.json";
// The largest index.json read; a hub with more must split (none comes near: ~500 bytes a version).
inline constexpr std::uint64_t kMaxIndexBytes = 16u << 20;

struct HubVersion {
    std::string name;         // the package's name, as its manifest says
    std::string version;      // MAJOR.MINOR.PATCH[-pre], as its manifest says
    std::string file;         // the tarball, relative to index.json: NAME-VERSION.tgz
    std::string sha256;       // of the tarball, lowercase hex
    std::uint64_t size = 0;   // of the tarball, bytes
    std::string runtime;      // "lua" or "js"
    std::string description;  // the manifest's one line
    std::string key;          // the publisher key's id (hub_keys.hpp key_id); empty: unsigned
    std::string signature;    // Ed25519 over signed_statement(name, version, sha256), base64
};

class HubIndex {
public:
    // An empty index (`adashta hub init`).
    HubIndex() = default;
    // Reads index.json's text; where names it in errors. hub_unavailable when the text is
    // not an index of this format, naming the key that is wrong.
    static Result<HubIndex> parse(std::string_view text, std::string_view where);
    std::string to_json() const;

    // The version, or nullptr.
    const HubVersion* find(std::string_view name, std::string_view version) const;
    // The highest release of name (a pre-release only when it has no release), or nullptr.
    const HubVersion* newest(std::string_view name) const;
    // Adds or replaces name@version.
    void add(HubVersion v);

    // name -> version -> entry, in name order; versions in semver order within.
    using Versions = std::map<std::string, HubVersion>;
    const std::map<std::string, Versions, std::less<>>& packages() const { return packages_; }

private:
    std::map<std::string, Versions, std::less<>> packages_;  // every version of every package
};

// Where a hub is: an http(s):// URL, a file:// URL or a folder, given as --hub.
class HubSource {
public:
    explicit HubSource(std::string spec);
    const std::string& spec() const { return spec_; }
    bool is_http() const { return http_; }

    // The bytes of a file on the hub (relative to its top, like index.json's "file"), at
    // most max_bytes: hub_unavailable when it cannot be read (naming the URL or path and the
    // HTTP status or error), package_refused when it is longer than max_bytes. HTTP goes
    // through libcurl: http and https only, redirects followed within those, 10 s to
    // connect and 120 s in all.
    Result<std::string> fetch(std::string_view file, std::uint64_t max_bytes) const;
    // index.json, fetched and parsed.
    Result<HubIndex> index() const;
    // Where file is, for messages: the URL or the path.
    std::string where(std::string_view file) const;

private:
    std::string spec_;  // as given
    bool http_ = false; // an http(s):// URL, fetched with libcurl; else a folder
    std::string base_;  // the URL or folder without a trailing '/'
};

}  // namespace adashta::plugins
