// A fresh folder under the system's temp folder for one test, removed with everything in
// it when the test ends.
//
//   adashta::test::TempDir dir;  // e.g. /tmp/adashta-test-4242-0
//   auto db = Db::open((dir.path / "store.db").string());
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace adashta::test {

struct TempDir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() /
        ("adashta-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    TempDir() { std::filesystem::create_directories(path); }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    static inline int counter = 0;
};

}  // namespace adashta::test
