// The app folder an edge serves at "/": maps a URL path to a file inside it and never to
// anything outside it (no "..", no symlink escapes).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace adashta::edge {

// The file for url_path under root (a canonical directory), index.html for a directory;
// nullopt when there is none or the path would leave root.
std::optional<std::filesystem::path> resolve_static(const std::filesystem::path& root,
                                                    std::string_view url_path);
// Content-Type for a file name, by extension; application/octet-stream when unknown.
std::string_view mime_type(std::string_view file_name);

}  // namespace adashta::edge
