#include "adashta/plugins/hub_index.hpp"

#include <curl/curl.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <fstream>
#include <mutex>

#include "adashta/plugins/package.hpp"

namespace adashta::plugins {

namespace {

Error bad_index(std::string_view where, std::string detail) {
    return make_error(Errc::hub_unavailable,
                      std::string{where} + ": " + detail + " (the format is in docs/plugins.md, \"Hubs\")");
}

bool plain_text(std::string_view s, bool upper_and_dots) {
    return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               (upper_and_dots && ((c >= 'A' && c <= 'Z') || c == '.'));
    });
}

}  // namespace

Result<HubIndex> HubIndex::parse(std::string_view text, std::string_view where) {
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError())
        return bad_index(where, "not JSON at byte " + std::to_string(doc.GetErrorOffset()) + " (" +
                                    rapidjson::GetParseError_En(doc.GetParseError()) + ")");
    if (!doc.IsObject()) return bad_index(where, "not a JSON object");
    if (!doc.HasMember("format") || !doc["format"].IsInt() || doc["format"].GetInt() != kHubIndexFormat)
        return bad_index(where, "\"format\" is not " + std::to_string(kHubIndexFormat) +
                                    " (a newer adashta may read this hub)");
    if (!doc.HasMember("packages") || !doc["packages"].IsObject())
        return bad_index(where, "\"packages\" is missing or not an object");
    HubIndex index;
    for (const auto& package : std::as_const(doc)["packages"].GetObject()) {
        const std::string name = package.name.GetString();
        const std::string at = "packages." + name;
        if (!plain_text(name, false)) return bad_index(where, at + ": not a plugin name");
        if (!package.value.IsObject() || !package.value.HasMember("versions") ||
            !package.value["versions"].IsObject())
            return bad_index(where, at + ".versions is missing or not an object");
        for (const auto& version : package.value["versions"].GetObject()) {
            HubVersion v;
            v.name = name;
            v.version = version.name.GetString();
            const std::string vat = at + ".versions." + v.version;
            if (!plain_text(v.version, true)) return bad_index(where, vat + ": not a version");
            if (!version.value.IsObject()) return bad_index(where, vat + " is not an object");
            const auto& o = version.value;
            auto string = [&](const char* key, std::string& out, bool required) -> Status {
                if (!o.HasMember(key)) {
                    if (required) return bad_index(where, vat + "." + key + " is missing");
                    return {};
                }
                if (!o[key].IsString()) return bad_index(where, vat + "." + key + " is not a string");
                out = o[key].GetString();
                return {};
            };
            for (auto [key, out, required] : {std::tuple{"file", &v.file, true}, {"sha256", &v.sha256, true},
                                              {"runtime", &v.runtime, true}, {"description", &v.description, false},
                                              {"key", &v.key, false}, {"signature", &v.signature, false}})
                if (auto ok = string(key, *out, required); !ok) return ok.error();
            if (!o.HasMember("size") || !o["size"].IsUint64())
                return bad_index(where, vat + ".size is missing or not a whole number of bytes");
            v.size = o["size"].GetUint64();
            // The file is named by the package alone: nothing on a hub reaches outside its folder.
            if (v.file != v.name + "-" + v.version + ".tgz")
                return bad_index(where, vat + ".file is \"" + v.file + "\", not " + v.name + "-" + v.version + ".tgz");
            if (v.sha256.size() != 64 || !plain_text(v.sha256, false))
                return bad_index(where, vat + ".sha256 is not 64 lowercase hex digits");
            index.add(std::move(v));
        }
    }
    return index;
}

std::string HubIndex::to_json() const {
    rapidjson::StringBuffer buffer;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
    w.SetIndent(' ', 2);
    w.StartObject();
    w.Key("format");
    w.Int(kHubIndexFormat);
    w.Key("packages");
    w.StartObject();
    for (const auto& [name, versions] : packages_) {
        w.Key(name.c_str());
        w.StartObject();
        w.Key("versions");
        w.StartObject();
        for (const auto& [version, v] : versions) {
            w.Key(version.c_str());
            w.StartObject();
            for (auto [key, value] : {std::pair{"file", &v.file}, {"sha256", &v.sha256}, {"runtime", &v.runtime},
                                      {"description", &v.description}, {"key", &v.key},
                                      {"signature", &v.signature}}) {
                w.Key(key);
                w.String(value->c_str(), static_cast<rapidjson::SizeType>(value->size()));
            }
            w.Key("size");
            w.Uint64(v.size);
            w.EndObject();
        }
        w.EndObject();
        w.EndObject();
    }
    w.EndObject();
    w.EndObject();
    return std::string{buffer.GetString(), buffer.GetSize()} + "\n";
}

const HubVersion* HubIndex::find(std::string_view name, std::string_view version) const {
    auto p = packages_.find(name);
    if (p == packages_.end()) return nullptr;
    auto v = p->second.find(std::string{version});
    return v == p->second.end() ? nullptr : &v->second;
}

const HubVersion* HubIndex::newest(std::string_view name) const {
    auto p = packages_.find(name);
    if (p == packages_.end() || p->second.empty()) return nullptr;
    // Releases first, as npm's "latest": a pre-release is the newest only when there is no release.
    const HubVersion* best = nullptr;
    for (const auto& [version, v] : p->second) {
        if (!best) {
            best = &v;
            continue;
        }
        const bool pre = version.find('-') != std::string::npos;
        const bool best_pre = best->version.find('-') != std::string::npos;
        if (pre != best_pre ? best_pre : compare_versions(version, best->version) > 0) best = &v;
    }
    return best;
}

void HubIndex::add(HubVersion v) {
    auto& versions = packages_[v.name];
    versions[v.version] = std::move(v);
}

HubSource::HubSource(std::string spec) : spec_(std::move(spec)) {
    http_ = spec_.starts_with("http://") || spec_.starts_with("https://");
    base_ = spec_.starts_with("file://") ? spec_.substr(7) : spec_;
    while (base_.size() > 1 && base_.back() == '/') base_.pop_back();
}

std::string HubSource::where(std::string_view file) const { return base_ + "/" + std::string{file}; }

namespace {

struct Download {
    std::string body;         // what arrived so far
    std::uint64_t max = 0;    // refuse beyond this
    bool too_long = false;    // the transfer was stopped for max
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* d = static_cast<Download*>(user);
    const std::size_t n = size * count;
    if (d->body.size() + n > d->max) {
        d->too_long = true;
        return 0;  // stops the transfer (CURLE_WRITE_ERROR)
    }
    d->body.append(data, n);
    return n;
}

}  // namespace

Result<std::string> HubSource::fetch(std::string_view file, std::uint64_t max_bytes) const {
    const std::string url = where(file);
    if (!http_) {
        std::ifstream in(url, std::ios::binary);
        if (!in) return make_error(Errc::hub_unavailable, "cannot read \"" + url + "\"");
        std::string body;
        std::vector<char> buffer(64 << 10);
        while (in) {
            in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            body.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
            if (body.size() > max_bytes)
                return make_error(Errc::package_refused, "\"" + url + "\" is longer than " +
                                                             std::to_string(max_bytes) + " bytes");
        }
        return body;
    }
    // curl_global_init is not thread-safe in libcurl 7.88: once, before the first handle.
    static std::once_flag curl_ready;
    std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    CURL* curl = curl_easy_init();
    if (!curl) return make_error(Errc::hub_unavailable, "libcurl could not start a transfer");
    Download d;
    d.max = max_bytes;
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "adashta-plugin");
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (d.too_long || rc == CURLE_FILESIZE_EXCEEDED)
        return make_error(Errc::package_refused, url + " is longer than " + std::to_string(max_bytes) + " bytes");
    if (rc != CURLE_OK)
        return make_error(Errc::hub_unavailable,
                          url + ": " + (error[0] ? std::string{error} : std::string{curl_easy_strerror(rc)}));
    if (status != 200)
        return make_error(Errc::hub_unavailable, url + " answered HTTP " + std::to_string(status));
    return std::move(d.body);
}

Result<HubIndex> HubSource::index() const {
    auto text = fetch(kHubIndexFile, kMaxIndexBytes);
    if (!text) return text.error();
    return HubIndex::parse(*text, where(kHubIndexFile));
}

}  // namespace adashta::plugins
