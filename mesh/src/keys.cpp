#include "adashta/mesh/keys.hpp"

#include <sys/stat.h>
#include <czmq.h>
#include <zmq.h>

#include <fstream>
#include <sstream>

#include "adashta/mesh/transport.hpp"

namespace adashta::mesh {
namespace {

constexpr std::string_view kZ85 =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

Error bad_key(std::string what) {
    return make_error(Errc::bad_key, std::move(what));
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

bool is_z85_key(std::string_view text) {
    return text.size() == 40 && text.find_first_not_of(kZ85) == std::string_view::npos;
}

KeyPair KeyPair::generate() {
    zcert_t* cert = zcert_new();
    KeyPair pair{zcert_public_txt(cert), zcert_secret_txt(cert)};
    zcert_destroy(&cert);
    return pair;
}

Result<KeyPair> KeyPair::from_secret(std::string_view secret_z85) {
    if (!is_z85_key(secret_z85))
        return bad_key("a mesh secret key is 40 characters of Z85 (adashta keys new makes one)");
    const std::string secret{secret_z85};
    char public_key[41] = {};
    if (zmq_curve_public(public_key, secret.c_str()) != 0)
        return bad_key("this ZeroMQ has no CURVE support (libzmq built without libsodium)");
    return KeyPair{public_key, secret};
}

Result<KeyPair> KeyPair::load(const std::string& path) {
    std::string file = path;
    // Given the public half, read the secret one beside it, as zcert names them.
    if (!file.ends_with("_secret")) {
        struct stat st {};
        if (::stat((file + "_secret").c_str(), &st) == 0) file += "_secret";
    }
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
        return bad_key("mesh key file \"" + file + "\" does not exist; make one with: adashta keys new " +
                       path);
    zcert_t* cert = zcert_load(file.c_str());
    if (!cert)
        return bad_key("\"" + file + "\" is not a key file written by adashta keys new (a CZMQ certificate)");
    KeyPair pair{zcert_public_txt(cert), zcert_secret_txt(cert)};
    zcert_destroy(&cert);
    if (pair.secret_key.empty() || pair.secret_key == std::string(40, '0'))
        return bad_key("\"" + file + "\" holds only a public key; give the FILE_secret that adashta keys new wrote");
    return pair;
}

Result<std::string> read_public_key(const std::string& path) {
    zcert_t* cert = zcert_load(path.c_str());
    if (!cert)
        return bad_key("\"" + path + "\" cannot be read as a key file (adashta keys new writes them)");
    std::string key = zcert_public_txt(cert);
    zcert_destroy(&cert);
    return key;
}

Status KeyPair::save(const std::string& path, std::string_view name) const {
    std::uint8_t public_bin[32];
    std::uint8_t secret_bin[32];
    if (!zmq_z85_decode(public_bin, public_key.c_str()) ||
        !zmq_z85_decode(secret_bin, secret_key.c_str()))
        return bad_key("this key pair is not Z85");
    zcert_t* cert = zcert_new_from(public_bin, secret_bin);
    if (!cert) return bad_key("cannot make a certificate of this key pair");
    if (!name.empty()) zcert_set_meta(cert, "name", "%s", std::string{name}.c_str());
    // zcert writes the secret file with the process's umask: make it private first.
    const mode_t old_mask = ::umask(077);
    const int rc = zcert_save(cert, path.c_str());
    ::umask(old_mask);
    zcert_destroy(&cert);
    if (rc != 0) return bad_key("cannot write \"" + path + "\" and \"" + path + "_secret\"");
    ::chmod(path.c_str(), 0644);  // the public half is meant to be handed out
    return {};
}

bool AllowedKey::may(wire::Role role) const {
    switch (role) {
        case wire::Role::Edge:
            return edge;
        case wire::Role::Node:
            return node;
        case wire::Role::Tool:
            return tool;
    }
    return false;
}

std::string AllowedKey::roles() const {
    std::string out;
    for (auto [on, label] : {std::pair{edge, "edge"}, std::pair{node, "node"}, std::pair{tool, "tool"}})
        if (on) out.append(out.empty() ? "" : ",").append(label);
    return out;
}

Result<AllowList> AllowList::load(const std::string& path) {
    std::ifstream in{path};
    if (!in)
        return bad_key("cannot read the mesh allow-list \"" + path +
                       "\" (one line per member: KEY ROLES [ENDPOINT] [# NAME])");
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

Result<AllowList> AllowList::parse(std::string_view text, const std::string& where) {
    AllowList list;
    std::size_t line_number = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_number;
        const std::string at = where + ":" + std::to_string(line_number) + ": ";
        std::string name;
        // A comment starts with a # at the start of the line or after a space: Z85 keys may
        // hold # themselves, but never white space.
        std::size_t hash = std::string_view::npos;
        for (std::size_t i = 0; i < line.size(); ++i)
            if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
                hash = i;
                break;
            }
        if (hash != std::string_view::npos) {
            name = trim(line.substr(hash + 1));
            line = line.substr(0, hash);
        }
        line = trim(line);
        if (line.empty()) continue;
        std::vector<std::string_view> words;
        while (!line.empty()) {
            const auto space = line.find_first_of(" \t");
            words.push_back(line.substr(0, space));
            line = space == std::string_view::npos ? std::string_view{} : trim(line.substr(space));
        }
        if (words.size() < 2 || words.size() > 3)
            return bad_key(at + "expected KEY ROLES [ENDPOINT] [# NAME], like \"<40 Z85 characters> node\"");
        AllowedKey key;
        key.name = std::move(name);
        if (!is_z85_key(words[0]))
            return bad_key(at + "\"" + std::string{words[0].substr(0, 48)} +
                           "\" is not a public key (40 Z85 characters; adashta keys show FILE prints it)");
        key.key = words[0];
        std::string_view roles = words[1];
        while (!roles.empty()) {
            const auto comma = roles.find(',');
            const std::string_view role = roles.substr(0, comma);
            roles = comma == std::string_view::npos ? std::string_view{} : roles.substr(comma + 1);
            if (role == "edge")
                key.edge = true;
            else if (role == "node")
                key.node = true;
            else if (role == "tool")
                key.tool = true;
            else
                return bad_key(at + "\"" + std::string{role} + "\" is not a role; roles are edge, node and tool");
        }
        if (words.size() == 3) {
            auto endpoint = normalize_endpoint(words[2]);
            if (!endpoint || endpoint->ends_with(":*"))
                return bad_key(at + "\"" + std::string{words[2]} + "\" is not an endpoint (tcp://HOST:PORT)");
            key.endpoint = *endpoint;
        }
        if (list.keys_.contains(key.key)) return bad_key(at + "this key is listed twice");
        list.keys_.emplace(key.key, std::move(key));
    }
    if (list.keys_.empty()) return bad_key(where + ": lists no key");
    return list;
}

const AllowedKey* AllowList::find(std::string_view key) const {
    auto it = keys_.find(key);
    return it == keys_.end() ? nullptr : &it->second;
}

const AllowedKey* AllowList::find_by_endpoint(std::string_view endpoint) const {
    for (const auto& [key, allowed] : keys_)
        if (!allowed.endpoint.empty() && allowed.endpoint == endpoint) return &allowed;
    return nullptr;
}

Result<std::pair<std::string, std::string>> split_seed(std::string_view seed) {
    const auto bar = seed.find('|');
    if (bar == std::string_view::npos) return std::pair{std::string{seed}, std::string{}};
    const std::string_view key = seed.substr(bar + 1);
    if (!is_z85_key(key))
        return bad_key("seed \"" + std::string{seed.substr(0, 200)} +
                       "\": the part after | must be the member's public key (40 Z85 characters)");
    return std::pair{std::string{seed.substr(0, bar)}, std::string{key}};
}

}  // namespace adashta::mesh
