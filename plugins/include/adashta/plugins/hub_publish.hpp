// Hosting a hub: making its folder and publishing packages into it (`adashta hub init` and
// `adashta hub publish`; docs/plugins.md, "Publishing").
//
//   if (auto made = plugins::init_hub("/srv/hub"); !made) ...
//   auto key = plugins::SigningKey::load("publisher.key");
//   auto v = plugins::publish("/srv/hub", "plugins/official/hello", *key);  // hello-1.0.0.tgz
//
// The folder is then served as it is, by any static HTTP server (or used as a folder).
// Threads: none; two publishes into one hub at the same time are not supported (the index
// is replaced whole, the last writer wins).
#pragma once

#include <filesystem>

#include "adashta/plugins/hub_index.hpp"
#include "adashta/plugins/hub_keys.hpp"
#include "adashta/result.hpp"

namespace adashta::plugins {

// Makes dir (if needed) with an empty index.json; bad_option when dir already has one.
Status init_hub(const std::filesystem::path& dir);

// Packs plugin_folder into dir/NAME-VERSION.tgz, signs it with key and adds it to
// dir/index.json (written to a temporary file and renamed over the old one). Publishing the
// same content again changes nothing; a version that is already published with other
// content is refused (package_refused: versions are immutable, publish a new one).
// hub_unavailable when dir has no index.json (`adashta hub init`), bad_plugin or
// package_refused when the folder cannot be packed.
Result<HubVersion> publish(const std::filesystem::path& dir, const std::filesystem::path& plugin_folder,
                           const SigningKey& key);

}  // namespace adashta::plugins
