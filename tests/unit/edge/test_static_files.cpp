#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "static_files.hpp"

using namespace adashta::edge;
namespace fs = std::filesystem;

namespace {

// A temporary app folder with index.html, js/app.js, a secret beside it and a symlink out.
struct AppFolder {
    fs::path base = fs::temp_directory_path() / ("adashta-static-" + std::to_string(::getpid()));
    fs::path root = base / "app";
    AppFolder() {
        fs::create_directories(root / "js");
        std::ofstream{root / "index.html"} << "<h1>hi</h1>";
        std::ofstream{root / "js" / "app.js"} << "1";
        std::ofstream{base / "secret.txt"} << "no";
        fs::create_directories(base / "app2");
        std::ofstream{base / "app2" / "x.html"} << "no";
        fs::create_symlink(base / "secret.txt", root / "link.txt");
        root = fs::canonical(root);
    }
    ~AppFolder() { fs::remove_all(base); }
};

}  // namespace

TEST_CASE("files inside the app folder are served, index.html for folders", "[static]") {
    AppFolder app;
    CHECK(resolve_static(app.root, "/") == app.root / "index.html");
    CHECK(resolve_static(app.root, "/js/app.js") == app.root / "js" / "app.js");
    CHECK(resolve_static(app.root, "/./js//app.js") == app.root / "js" / "app.js");
    CHECK_FALSE(resolve_static(app.root, "/missing.html"));
    CHECK_FALSE(resolve_static(app.root, "/js"));  // a folder without index.html
}

TEST_CASE("no path leaves the app folder", "[static]") {
    AppFolder app;
    CHECK_FALSE(resolve_static(app.root, "/../secret.txt"));
    CHECK_FALSE(resolve_static(app.root, "/js/../../secret.txt"));
    CHECK_FALSE(resolve_static(app.root, "/../app2/x.html"));
    CHECK_FALSE(resolve_static(app.root, "/link.txt"));  // a symlink pointing outside
    CHECK_FALSE(resolve_static(app.root, "relative.html"));
    CHECK_FALSE(resolve_static(app.root, ""));
}

TEST_CASE("content types follow the extension", "[static]") {
    CHECK(mime_type("a/index.html") == "text/html; charset=utf-8");
    CHECK(mime_type("app.mjs") == "text/javascript; charset=utf-8");
    CHECK(mime_type("logo.svg") == "image/svg+xml");
    CHECK(mime_type("blob.bin") == "application/octet-stream");
}
