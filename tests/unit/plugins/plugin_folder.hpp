// A plugin package in a temporary folder, written file by file, for the plugin tests.
//
//   PluginFolder p;
//   p.write("main.lua", "return { on_message = function(msg) end }");
//   p.manifest(R"({"name":"t","version":"1.0.0","runtime":"lua","entry":"main.lua","hooks":["on_message"]})");
#pragma once

#include <fstream>
#include <string>
#include <string_view>

#include "temp_dir.hpp"

namespace adashta::test {

struct PluginFolder {
    TempDir dir;  // the package's folder
    void write(const std::string& name, std::string_view text) const {
        const auto path = dir.path / name;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary) << text;
    }
    void manifest(std::string_view text) const { write("adashta-plugin.json", text); }
};

}  // namespace adashta::test
