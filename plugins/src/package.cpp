#include "adashta/plugins/package.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <system_error>
#include <vector>

namespace adashta::plugins {

namespace fs = std::filesystem;

namespace {

// Every entry of a package gets this time: packing the same folder twice gives the same bytes.
constexpr std::int64_t kEntryTime = 0;

Error refused(std::string detail) { return make_error(Errc::package_refused, std::move(detail)); }

std::string archive_message(archive* a) {
    const char* text = archive_error_string(a);
    return text ? text : "unknown libarchive error";
}

// Owns one libarchive handle of either direction.
struct ArchiveWriter {
    archive* a = archive_write_new();
    ~ArchiveWriter() { archive_write_free(a); }
};
struct ArchiveReader {
    archive* a = archive_read_new();
    ~ArchiveReader() { archive_read_free(a); }
};
struct EntryHandle {
    archive_entry* e = archive_entry_new();
    ~EntryHandle() { archive_entry_free(e); }
};

// A folder's entries to pack: relative paths in sorted order, folders before what they hold.
struct Walked {
    std::vector<std::pair<std::string, bool>> entries;  // relative path, is a folder
};

Result<Walked> walk(const fs::path& folder, const UnpackLimits& limits) {
    Walked out;
    std::error_code ec;
    std::uint64_t total = 0;
    fs::recursive_directory_iterator it(folder, fs::directory_options::none, ec);
    if (ec) return make_error(Errc::storage_failed, "cannot read \"" + folder.string() + "\": " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) return make_error(Errc::storage_failed, "cannot read \"" + folder.string() + "\": " + ec.message());
        const fs::path rel = it->path().lexically_relative(folder);
        const std::string name = rel.generic_string();
        const fs::file_status st = it->symlink_status(ec);
        if (rel.filename() == ".git") {
            it.disable_recursion_pending();
            continue;
        }
        if (name == kInstallRecordFile) continue;  // an installed copy packed again
        if (fs::is_symlink(st))
            return refused("\"" + (folder / rel).string() +
                           "\" is a symbolic link; packages hold regular files only: copy the file in");
        if (fs::is_directory(st)) {
            out.entries.emplace_back(name, true);
        } else if (fs::is_regular_file(st)) {
            const std::uint64_t size = it->file_size(ec);
            if (size > limits.entry_bytes)
                return refused("\"" + (folder / rel).string() + "\" is " + std::to_string(size) +
                               " bytes; a file in a package may have at most " +
                               std::to_string(limits.entry_bytes));
            total += size;
            out.entries.emplace_back(name, false);
        } else {
            return refused("\"" + (folder / rel).string() +
                           "\" is not a regular file or folder (a device, FIFO or socket); remove it");
        }
        if (out.entries.size() > limits.entries)
            return refused("\"" + folder.string() + "\" holds more than " + std::to_string(limits.entries) +
                           " files and folders, the most a package may");
    }
    if (total > limits.total_bytes)
        return refused("\"" + folder.string() + "\" holds " + std::to_string(total) +
                       " bytes; a package may hold at most " + std::to_string(limits.total_bytes));
    std::sort(out.entries.begin(), out.entries.end());
    return out;
}

// The parts of an entry's path, or why it may not be unpacked.
Result<std::vector<std::string>> entry_parts(std::string_view name) {
    if (name.empty()) return refused("an entry has an empty name");
    if (name.front() == '/') return refused("entry \"" + std::string{name} + "\" has an absolute path");
    if (name.size() > 1024) return refused("an entry's name is longer than 1024 bytes");
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= name.size()) {
        const std::size_t slash = std::min(name.find('/', start), name.size());
        const std::string_view part = name.substr(start, slash - start);
        if (part == "..") return refused("entry \"" + std::string{name} + "\" climbs out of the package (\"..\")");
        if (!part.empty() && part != ".") parts.emplace_back(part);
        start = slash + 1;
    }
    return parts;
}

Status write_all(int fd, const char* data, std::size_t size, const fs::path& file) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) return make_error(Errc::storage_failed, "cannot write \"" + file.string() + "\"");
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return {};
}

Result<Manifest> unpack_into(const fs::path& tarball, const fs::path& dest, const UnpackLimits& limits) {
    std::error_code ec;
    const std::uint64_t package_size = fs::file_size(tarball, ec);
    if (ec) return make_error(Errc::storage_failed, "cannot read \"" + tarball.string() + "\": " + ec.message());
    if (package_size > limits.package_bytes)
        return refused("\"" + tarball.string() + "\" is " + std::to_string(package_size) +
                       " bytes; a package may have at most " + std::to_string(limits.package_bytes));
    {
        std::ifstream in(tarball, std::ios::binary);
        std::array<char, 2> magic{};
        if (!in.read(magic.data(), 2) || magic[0] != '\x1f' || magic[1] != '\x8b')
            return refused("\"" + tarball.string() + "\" is not a gzip tarball (NAME-VERSION.tgz)");
    }
    ArchiveReader reader;
    archive_read_support_filter_gzip(reader.a);
    archive_read_support_format_tar(reader.a);
    if (archive_read_open_filename(reader.a, tarball.c_str(), 64 << 10) != ARCHIVE_OK)
        return refused("\"" + tarball.string() + "\" is not a gzip tarball: " + archive_message(reader.a));

    std::uint64_t total = 0;
    std::size_t count = 0;
    std::vector<char> buffer(64 << 10);
    archive_entry* entry = nullptr;
    int r;
    while ((r = archive_read_next_header(reader.a, &entry)) == ARCHIVE_OK) {
        const char* raw_name = archive_entry_pathname(entry);
        const std::string name = raw_name ? raw_name : "";
        auto parts = entry_parts(name);
        if (!parts) return parts.error();
        if (++count > limits.entries)
            return refused("the package holds more than " + std::to_string(limits.entries) +
                           " entries, the most a package may");
        if (archive_entry_hardlink(entry) != nullptr)
            return refused("entry \"" + name + "\" is a hard link; packages hold regular files only");
        const auto type = archive_entry_filetype(entry);
        if (type == AE_IFLNK)
            return refused("entry \"" + name + "\" is a symbolic link; packages hold regular files only");
        if (type != AE_IFREG && type != AE_IFDIR)
            return refused("entry \"" + name + "\" is a device, FIFO or socket; packages hold regular files only");
        if (parts->empty()) continue;  // "./": the package's top
        if (parts->size() == 1 && parts->front() == kInstallRecordFile)
            return refused("entry \"" + name + "\" has the install record's name, which a package may not bring");
        fs::path target = dest;
        for (const auto& part : *parts) target /= part;
        if (type == AE_IFDIR) {
            fs::create_directories(target, ec);
            if (ec) return refused("entry \"" + name + "\" cannot be a folder: " + ec.message());
            continue;
        }
        if (archive_entry_size_is_set(entry) &&
            static_cast<std::uint64_t>(archive_entry_size(entry)) > limits.entry_bytes)
            return refused("entry \"" + name + "\" is " + std::to_string(archive_entry_size(entry)) +
                           " bytes; a file in a package may have at most " + std::to_string(limits.entry_bytes));
        fs::create_directories(target.parent_path(), ec);
        if (ec) return refused("entry \"" + name + "\": its folder cannot be made: " + ec.message());
        const bool executable = (archive_entry_perm(entry) & 0111) != 0;
        // O_EXCL: an entry listed twice is refused instead of overwriting; O_NOFOLLOW: nothing
        // under dest is a link (none is ever made), and that stays checked.
        const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                              executable ? 0755 : 0644);
        if (fd < 0) {
            if (errno == EEXIST) return refused("entry \"" + name + "\" appears twice in the package");
            return make_error(Errc::storage_failed, "cannot write \"" + target.string() + "\"");
        }
        std::uint64_t written = 0;
        Status status;
        for (;;) {
            const la_ssize_t n = archive_read_data(reader.a, buffer.data(), buffer.size());
            if (n == 0) break;
            if (n < 0) {
                status = refused("entry \"" + name + "\" cannot be read: " + archive_message(reader.a));
                break;
            }
            written += static_cast<std::uint64_t>(n);
            total += static_cast<std::uint64_t>(n);
            if (written > limits.entry_bytes) {
                status = refused("entry \"" + name + "\" is over " + std::to_string(limits.entry_bytes) +
                                 " bytes, the most a file in a package may have");
                break;
            }
            if (total > limits.total_bytes) {
                status = refused("the package unpacks to over " + std::to_string(limits.total_bytes) +
                                 " bytes, the most a package may");
                break;
            }
            status = write_all(fd, buffer.data(), static_cast<std::size_t>(n), target);
            if (!status) break;
        }
        ::close(fd);
        if (!status) return status.error();
    }
    if (r != ARCHIVE_EOF)
        return refused("\"" + tarball.string() + "\" is damaged or not a tarball: " + archive_message(reader.a));
    return read_manifest(dest);
}

}  // namespace

Result<Packed> pack(const fs::path& folder, const fs::path& out_dir, const UnpackLimits& limits) {
    auto manifest = read_manifest(folder);
    if (!manifest) return manifest.error();
    auto walked = walk(folder, limits);
    if (!walked) return walked.error();

    const fs::path file = out_dir / (manifest->name + "-" + manifest->version + ".tgz");
    const fs::path partial = out_dir / ("." + file.filename().string() + ".partial-" + std::to_string(::getpid()));
    {
        ArchiveWriter writer;
        archive_write_add_filter_gzip(writer.a);
        // "!timestamp": no time in the gzip header, so the bytes depend on the files only.
        archive_write_set_filter_option(writer.a, "gzip", "timestamp", nullptr);
        archive_write_set_format_pax_restricted(writer.a);
        if (archive_write_open_filename(writer.a, partial.c_str()) != ARCHIVE_OK)
            return make_error(Errc::storage_failed, "cannot write \"" + partial.string() + "\": " +
                                                        archive_message(writer.a));
        std::vector<char> buffer(64 << 10);
        for (const auto& [name, is_folder] : walked->entries) {
            const fs::path source = folder / name;
            std::error_code ec;
            EntryHandle entry;
            archive_entry_set_pathname(entry.e, name.c_str());
            archive_entry_set_mtime(entry.e, kEntryTime, 0);
            archive_entry_set_uid(entry.e, 0);
            archive_entry_set_gid(entry.e, 0);
            if (is_folder) {
                archive_entry_set_filetype(entry.e, AE_IFDIR);
                archive_entry_set_perm(entry.e, 0755);
                archive_entry_set_size(entry.e, 0);
            } else {
                const auto perms = fs::status(source, ec).permissions();
                const bool executable = (perms & fs::perms::owner_exec) != fs::perms::none;
                archive_entry_set_filetype(entry.e, AE_IFREG);
                archive_entry_set_perm(entry.e, executable ? 0755 : 0644);
                archive_entry_set_size(entry.e, static_cast<la_int64_t>(fs::file_size(source, ec)));
            }
            if (archive_write_header(writer.a, entry.e) != ARCHIVE_OK)
                return make_error(Errc::storage_failed, "cannot pack \"" + source.string() + "\": " +
                                                            archive_message(writer.a));
            if (is_folder) continue;
            std::ifstream in(source, std::ios::binary);
            if (!in) return make_error(Errc::storage_failed, "cannot read \"" + source.string() + "\"");
            while (in) {
                in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
                const auto n = in.gcount();
                if (n > 0 && archive_write_data(writer.a, buffer.data(), static_cast<std::size_t>(n)) != n)
                    return make_error(Errc::storage_failed, "cannot pack \"" + source.string() + "\": " +
                                                                archive_message(writer.a));
            }
        }
        if (archive_write_close(writer.a) != ARCHIVE_OK)
            return make_error(Errc::storage_failed, "cannot write \"" + partial.string() + "\": " +
                                                        archive_message(writer.a));
    }
    std::error_code ec;
    fs::rename(partial, file, ec);
    if (ec) {
        fs::remove(partial, ec);
        return make_error(Errc::storage_failed, "cannot write \"" + file.string() + "\"");
    }
    auto sha = sha256_file(file);
    if (!sha) return sha.error();
    Packed out;
    out.file = file;
    out.sha256 = std::move(*sha);
    out.size = fs::file_size(file, ec);
    out.manifest = std::move(*manifest);
    return out;
}

Result<Manifest> unpack(const fs::path& tarball, const fs::path& dest, const UnpackLimits& limits) {
    std::error_code ec;
    if (fs::exists(dest, ec)) return make_error(Errc::storage_failed, "\"" + dest.string() + "\" exists already");
    if (!fs::create_directories(dest, ec) || ec)
        return make_error(Errc::storage_failed, "cannot make \"" + dest.string() + "\": " + ec.message());
    auto manifest = unpack_into(tarball, dest, limits);
    if (!manifest) fs::remove_all(dest, ec);
    return manifest;
}

std::string sha256_hex(std::string_view bytes) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    return hex.data();
}

Result<std::string> sha256_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error(Errc::storage_failed, "cannot read \"" + file.string() + "\"");
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    std::vector<char> buffer(64 << 10);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto n = in.gcount();
        if (n > 0)
            crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()),
                                      static_cast<unsigned long long>(n));
    }
    if (in.bad()) return make_error(Errc::storage_failed, "cannot read \"" + file.string() + "\"");
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256_final(&state, digest.data());
    std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    return std::string{hex.data()};
}

namespace {

struct SplitVersion {
    std::uint64_t core[3] = {};  // MAJOR, MINOR, PATCH
    std::string_view pre;        // after the '-', empty for a release
};

SplitVersion split_version(std::string_view v) {
    SplitVersion out;
    const auto dash = v.find('-');
    if (dash != std::string_view::npos) out.pre = v.substr(dash + 1);
    std::string_view core = v.substr(0, dash);
    for (auto& part : out.core) {
        const auto dot = core.find('.');
        for (char c : core.substr(0, dot))
            if (c >= '0' && c <= '9') part = part * 10 + static_cast<std::uint64_t>(c - '0');
        core = dot == std::string_view::npos ? std::string_view{} : core.substr(dot + 1);
    }
    return out;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int compare_pre(std::string_view a, std::string_view b) {
    while (true) {
        if (a.empty() || b.empty()) return a.empty() == b.empty() ? 0 : (a.empty() ? -1 : 1);
        const auto da = a.find('.'), db = b.find('.');
        const std::string_view pa = a.substr(0, da), pb = b.substr(0, db);
        a = da == std::string_view::npos ? std::string_view{} : a.substr(da + 1);
        b = db == std::string_view::npos ? std::string_view{} : b.substr(db + 1);
        const bool na = all_digits(pa), nb = all_digits(pb);
        if (na && nb) {
            if (pa.size() != pb.size()) return pa.size() < pb.size() ? -1 : 1;
        } else if (na != nb) {
            return na ? -1 : 1;  // numeric identifiers sort before alphanumeric ones
        }
        if (pa != pb) return pa < pb ? -1 : 1;
    }
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
    const SplitVersion va = split_version(a), vb = split_version(b);
    for (int i = 0; i < 3; ++i)
        if (va.core[i] != vb.core[i]) return va.core[i] < vb.core[i] ? -1 : 1;
    if (va.pre.empty() || vb.pre.empty()) return va.pre.empty() == vb.pre.empty() ? 0 : (va.pre.empty() ? 1 : -1);
    return compare_pre(va.pre, vb.pre);
}

}  // namespace adashta::plugins
