#include "static_files.hpp"

#include <array>
#include <utility>

namespace adashta::edge {

std::optional<std::filesystem::path> resolve_static(const std::filesystem::path& root,
                                                    std::string_view url_path) {
    namespace fs = std::filesystem;
    if (url_path.empty() || url_path.front() != '/') return std::nullopt;
    fs::path relative;
    std::string_view rest = url_path.substr(1);
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view part = rest.substr(0, slash);
        if (part == "..") return std::nullopt;
        if (!part.empty() && part != ".") relative /= std::string{part};
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    std::error_code ec;
    fs::path full = fs::weakly_canonical(root / relative, ec);
    if (ec) return std::nullopt;
    if (fs::is_directory(full, ec)) full /= "index.html";
    // A symlink inside the app folder may point anywhere; only files inside count.
    full = fs::weakly_canonical(full, ec);
    if (ec || !fs::is_regular_file(full, ec)) return std::nullopt;
    const auto [root_end, full_it] =
        std::mismatch(root.begin(), root.end(), full.begin(), full.end());
    if (root_end != root.end()) return std::nullopt;
    return full;
}

std::string_view mime_type(std::string_view file_name) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kTypes{{
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".txt", "text/plain; charset=utf-8"},
        {".wasm", "application/wasm"},
        {".map", "application/json"},
    }};
    for (const auto& [ext, type] : kTypes)
        if (file_name.ends_with(ext)) return type;
    return "application/octet-stream";
}

}  // namespace adashta::edge
