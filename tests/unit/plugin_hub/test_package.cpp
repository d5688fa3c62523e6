// plugins/src/package.cpp: packing a folder, and every refusal of unpack().
#include <archive.h>
#include <archive_entry.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "adashta/plugins/package.hpp"
#include "plugins/plugin_folder.hpp"

using namespace adashta;
using namespace adashta::plugins;
using adashta::test::PluginFolder;
using adashta::test::TempDir;

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kManifest =
    R"({"name":"shout","version":"1.2.3","runtime":"lua","entry":"main.lua","hooks":["on_message"]})";
constexpr std::string_view kMain = "return { on_message = function(msg) return adashta.pass() end }";

struct Shout : PluginFolder {
    Shout() {
        manifest(kManifest);
        write("main.lua", kMain);
        write("lib/util.lua", "return {}");
    }
};

// One entry of a hand-made tarball: a file (with text), a folder, or something else.
struct Entry {
    std::string path;
    unsigned type = AE_IFREG;  // AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, ...
    std::string text;          // a file's bytes
    std::string link;          // AE_IFLNK's target, or a hard link's (then type AE_IFREG)
    bool hardlink = false;     // link is a hard link
};

// Writes entries into a .tgz as a hostile publisher would, with libarchive.
fs::path tarball(const fs::path& dir, const std::vector<Entry>& entries) {
    const fs::path file = dir / "evil.tgz";
    archive* a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    REQUIRE(archive_write_open_filename(a, file.c_str()) == ARCHIVE_OK);
    for (const Entry& e : entries) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, e.path.c_str());
        archive_entry_set_filetype(entry, e.type);
        archive_entry_set_perm(entry, 0644);
        if (e.hardlink) archive_entry_set_hardlink(entry, e.link.c_str());
        else if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.link.c_str());
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.type == AE_IFREG && !e.hardlink ? e.text.size() : 0));
        REQUIRE(archive_write_header(a, entry) == ARCHIVE_OK);
        if (e.type == AE_IFREG && !e.text.empty()) archive_write_data(a, e.text.data(), e.text.size());
        archive_entry_free(entry);
    }
    archive_write_close(a);
    archive_write_free(a);
    return file;
}

std::vector<Entry> valid_entries() {
    return {{"adashta-plugin.json", AE_IFREG, std::string{kManifest}}, {"main.lua", AE_IFREG, std::string{kMain}}};
}

Error refused(const std::vector<Entry>& entries, const UnpackLimits& limits = {}) {
    TempDir dir;
    const fs::path file = tarball(dir.path, entries);
    auto m = unpack(file, dir.path / "out", limits);
    REQUIRE_FALSE(m);
    CHECK_FALSE(fs::exists(dir.path / "out"));  // nothing is left behind
    return m.error();
}

std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("a folder packs to NAME-VERSION.tgz and unpacks to the same files", "[package]") {
    Shout p;
    TempDir out;
    auto packed = pack(p.dir.path, out.path);
    REQUIRE(packed);
    CHECK(packed->file.filename() == "shout-1.2.3.tgz");
    CHECK(packed->size == fs::file_size(packed->file));
    CHECK(packed->sha256 == sha256_hex(read(packed->file)));
    auto m = unpack(packed->file, out.path / "unpacked");
    REQUIRE(m);
    CHECK(m->name == "shout");
    CHECK(m->version == "1.2.3");
    CHECK(read(out.path / "unpacked" / "main.lua") == kMain);
    CHECK(read(out.path / "unpacked" / "lib" / "util.lua") == "return {}");
}

TEST_CASE("packing the same folder twice gives the same bytes", "[package]") {
    Shout p;
    TempDir a, b;
    auto first = pack(p.dir.path, a.path);
    REQUIRE(first);
    fs::last_write_time(p.dir.path / "main.lua", fs::file_time_type::clock::now() - std::chrono::hours(5));
    auto second = pack(p.dir.path, b.path);
    REQUIRE(second);
    CHECK(first->sha256 == second->sha256);
}

TEST_CASE("a folder with a symbolic link is not packed", "[package]") {
    Shout p;
    fs::create_symlink("/etc/passwd", p.dir.path / "passwd");
    TempDir out;
    auto packed = pack(p.dir.path, out.path);
    REQUIRE_FALSE(packed);
    CHECK(packed.error().code == Errc::package_refused);
    CHECK(packed.error().detail.find("symbolic link") != std::string::npos);
}

TEST_CASE("unpack refuses an absolute path", "[package]") {
    auto entries = valid_entries();
    entries.push_back({"/tmp/adashta-evil", AE_IFREG, "x"});
    const Error e = refused(entries);
    CHECK(e.code == Errc::package_refused);
    CHECK(e.detail.find("absolute path") != std::string::npos);
}

TEST_CASE("unpack refuses a path that climbs out with ..", "[package]") {
    for (const char* path : {"../escape.lua", "lib/../../escape.lua", "a/.."}) {
        auto entries = valid_entries();
        entries.push_back({path, AE_IFREG, "x"});
        const Error e = refused(entries);
        CHECK(e.code == Errc::package_refused);
        CHECK(e.detail.find("climbs out") != std::string::npos);
    }
}

TEST_CASE("unpack refuses symbolic and hard links", "[package]") {
    auto with_symlink = valid_entries();
    with_symlink.push_back({"passwd", AE_IFLNK, "", "/etc/passwd"});
    CHECK(refused(with_symlink).detail.find("symbolic link") != std::string::npos);

    auto with_hardlink = valid_entries();
    with_hardlink.push_back({"copy.lua", AE_IFREG, "", "main.lua", true});
    CHECK(refused(with_hardlink).detail.find("hard link") != std::string::npos);
}

TEST_CASE("unpack refuses devices and FIFOs", "[package]") {
    for (unsigned type : {unsigned{AE_IFCHR}, unsigned{AE_IFBLK}, unsigned{AE_IFIFO}}) {
        auto entries = valid_entries();
        entries.push_back({"dev", type});
        CHECK(refused(entries).detail.find("device, FIFO or socket") != std::string::npos);
    }
}

TEST_CASE("unpack refuses an entry, a total or a count over its caps", "[package]") {
    UnpackLimits limits;
    limits.entry_bytes = 1000;
    limits.total_bytes = 1500;
    limits.entries = 5;

    auto big = valid_entries();
    big.push_back({"big.bin", AE_IFREG, std::string(1001, 'x')});
    CHECK(refused(big, limits).detail.find("at most 1000") != std::string::npos);

    auto total = valid_entries();
    total.push_back({"a.bin", AE_IFREG, std::string(900, 'x')});
    total.push_back({"b.bin", AE_IFREG, std::string(900, 'x')});
    CHECK(refused(total, limits).detail.find("over 1500 bytes") != std::string::npos);

    auto many = valid_entries();
    for (int i = 0; i < 5; ++i) many.push_back({"f" + std::to_string(i), AE_IFREG, "x"});
    CHECK(refused(many, limits).detail.find("more than 5 entries") != std::string::npos);
}

TEST_CASE("unpack refuses a package over its size cap, and a file that is not a gzip tarball", "[package]") {
    TempDir dir;
    const fs::path file = tarball(dir.path, valid_entries());
    UnpackLimits limits;
    limits.package_bytes = 10;
    auto m = unpack(file, dir.path / "out", limits);
    REQUIRE_FALSE(m);
    CHECK(m.error().detail.find("a package may have at most 10") != std::string::npos);

    std::ofstream(dir.path / "plain.tgz") << "not a tarball at all";
    auto plain = unpack(dir.path / "plain.tgz", dir.path / "out2");
    REQUIRE_FALSE(plain);
    CHECK(plain.error().code == Errc::package_refused);
    CHECK(plain.error().detail.find("not a gzip tarball") != std::string::npos);
}

TEST_CASE("unpack refuses an entry listed twice, and the install record's name", "[package]") {
    auto twice = valid_entries();
    twice.push_back({"main.lua", AE_IFREG, "return {}"});
    CHECK(refused(twice).detail.find("appears twice") != std::string::npos);

    auto record = valid_entries();
    record.push_back({std::string{kInstallRecordFile}, AE_IFREG, "{}"});
    CHECK(refused(record).detail.find("install record") != std::string::npos);
}

TEST_CASE("unpack needs a valid adashta-plugin.json at the top", "[package]") {
    const Error missing = refused({{"main.lua", AE_IFREG, std::string{kMain}}});
    CHECK(missing.code == Errc::bad_plugin);
    CHECK(missing.detail.find("adashta-plugin.json") != std::string::npos);

    const Error nested = refused({{"shout/adashta-plugin.json", AE_IFREG, std::string{kManifest}},
                                  {"shout/main.lua", AE_IFREG, std::string{kMain}}});
    CHECK(nested.code == Errc::bad_plugin);
}

TEST_CASE("versions order as semver says", "[package]") {
    CHECK(compare_versions("1.0.0", "1.0.0") == 0);
    CHECK(compare_versions("1.0.0", "1.0.1") < 0);
    CHECK(compare_versions("1.10.0", "1.9.9") > 0);
    CHECK(compare_versions("2.0.0-rc.1", "2.0.0") < 0);
    CHECK(compare_versions("2.0.0-alpha", "2.0.0-alpha.1") < 0);
    CHECK(compare_versions("2.0.0-alpha.2", "2.0.0-alpha.10") < 0);
    CHECK(compare_versions("2.0.0-alpha.10", "2.0.0-beta") < 0);
    CHECK(compare_versions("2.0.0-1", "2.0.0-alpha") < 0);
}
