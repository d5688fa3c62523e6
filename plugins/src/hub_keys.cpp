#include "adashta/plugins/hub_keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "adashta/plugins/package.hpp"

namespace adashta::plugins {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kStatementDomain = "adashta-plugin-package-v1";
constexpr std::string_view kSecretTag = "ed25519-secret";
constexpr std::string_view kPublicTag = "ed25519";

void ensure_sodium() {
    // sodium_init is idempotent and thread-safe; -1 only when no entropy source exists.
    [[maybe_unused]] static const int ready = sodium_init();
    assert(ready >= 0);
}

std::string to_base64(const unsigned char* bytes, std::size_t size) {
    std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

// Decodes exactly size bytes of base64, or nullopt.
template <std::size_t N>
std::optional<std::array<unsigned char, N>> from_base64(std::string_view text) {
    std::array<unsigned char, N> out{};
    std::size_t length = 0;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &length, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        length != N)
        return std::nullopt;
    return out;
}

// "TAG BASE64 LABEL..." split in three; label may be empty.
struct Line {
    std::string tag, value, label;
};
Line split_line(const std::string& text) {
    std::istringstream in(text);
    Line out;
    in >> out.tag >> out.value;
    std::getline(in >> std::ws, out.label);
    return out;
}

}  // namespace

std::string signed_statement(std::string_view name, std::string_view version, std::string_view sha256) {
    std::string out{kStatementDomain};
    for (std::string_view part : {name, version, sha256}) {
        out += '\0';
        out += part;
    }
    return out;
}

std::string key_id(const PublicKey& key) {
    return sha256_hex({reinterpret_cast<const char*>(key.data()), key.size()}).substr(0, 16);
}

std::string keyring_line(const PublicKey& key, std::string_view label) {
    std::string out{kPublicTag};
    out += ' ';
    out += to_base64(key.data(), key.size());
    if (!label.empty()) {
        out += ' ';
        out += label;
    }
    return out;
}

SigningKey SigningKey::generate() {
    ensure_sodium();
    SigningKey key;
    crypto_sign_keypair(key.public_.data(), key.secret_.data());
    return key;
}

Result<SigningKey> SigningKey::load(const fs::path& file) {
    struct stat st{};
    if (::stat(file.c_str(), &st) != 0)
        return make_error(Errc::bad_key, "cannot read the signing key \"" + file.string() +
                                             "\"; make one with `adashta hub keygen --out " + file.string() + "`");
    if ((st.st_mode & 077) != 0)
        return make_error(Errc::bad_key, "the signing key \"" + file.string() +
                                             "\" may be read by others; `chmod 600 " + file.string() +
                                             "` (and make a new key if others have read it)");
    std::ifstream in(file);
    std::string text;
    while (std::getline(in, text)) {
        if (text.empty() || text[0] == '#') continue;
        const Line line = split_line(text);
        auto secret = from_base64<kSecretKeyBytes>(line.value);
        if (line.tag != kSecretTag || !secret) break;
        SigningKey key;
        key.secret_ = *secret;
        crypto_sign_ed25519_sk_to_pk(key.public_.data(), key.secret_.data());
        return key;
    }
    return make_error(Errc::bad_key, "\"" + file.string() +
                                         "\" is not a hub signing key (a line \"ed25519-secret BASE64\"); "
                                         "make one with `adashta hub keygen --out FILE`");
}

Status SigningKey::save(const fs::path& file, std::string_view label) const {
    const fs::path pub = fs::path{file.string() + ".pub"};
    for (const fs::path& f : {file, pub}) {
        std::error_code ec;
        if (fs::exists(f, ec))
            return make_error(Errc::bad_key, "\"" + f.string() +
                                                 "\" exists; keys are not overwritten: remove it first or pick another name");
    }
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(Errc::bad_key, "cannot write \"" + file.string() + "\"");
    std::string text = "# adashta hub signing key: secret, keep it 0600 and never publish it\n";
    text += kSecretTag;
    text += ' ' + to_base64(secret_.data(), secret_.size());
    if (!label.empty()) text += ' ' + std::string{label};
    text += '\n';
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!written) return make_error(Errc::bad_key, "cannot write \"" + file.string() + "\"");
    std::ofstream out(pub);
    out << "# adashta hub publisher key " << key_id() << ": add this line to a keyring (trusted-keys) to trust it\n"
        << keyring_line(public_, label) << "\n";
    if (!out) return make_error(Errc::bad_key, "cannot write \"" + pub.string() + "\"");
    return {};
}

std::string SigningKey::sign(std::string_view name, std::string_view version, std::string_view sha256) const {
    const std::string statement = signed_statement(name, version, sha256);
    std::array<unsigned char, crypto_sign_BYTES> sig{};
    crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(statement.data()),
                         statement.size(), secret_.data());
    return to_base64(sig.data(), sig.size());
}

Result<Keyring> Keyring::read(const std::vector<fs::path>& files) {
    Keyring ring;
    for (const fs::path& file : files) {
        std::ifstream in(file);
        if (!in) continue;
        std::string text;
        int number = 0;
        while (std::getline(in, text)) {
            ++number;
            const auto first = text.find_first_not_of(" \t\r");
            if (first == std::string::npos || text[first] == '#') continue;
            const Line line = split_line(text);
            auto key = from_base64<kPublicKeyBytes>(line.value);
            if (line.tag != kPublicTag || !key)
                return make_error(Errc::bad_key, file.string() + ":" + std::to_string(number) +
                                                     ": not a keyring line; each line is \"ed25519 BASE64 [LABEL]\" "
                                                     "(a .pub file of `adashta hub keygen`)");
            ring.add(*key, line.label, file.string());
        }
    }
    return ring;
}

void Keyring::add(const PublicKey& key, std::string label, std::string file) {
    entries_.push_back(Entry{key, key_id(key), std::move(label), std::move(file)});
}

const Keyring::Entry* Keyring::find(std::string_view id) const {
    for (const Entry& e : entries_)
        if (e.id == id) return &e;
    return nullptr;
}

Status Keyring::verify(std::string_view name, std::string_view version, std::string_view sha256,
                       std::string_view id, std::string_view signature) const {
    ensure_sodium();
    const std::string package = std::string{name} + " " + std::string{version};
    if (signature.empty() || id.empty())
        return make_error(Errc::signature_refused,
                          package + " is unsigned on this hub; ask its publisher to publish it with "
                                    "`adashta hub publish --key`, or install another version");
    const Entry* entry = find(id);
    if (!entry)
        return make_error(Errc::signature_refused,
                          package + " is signed by key " + std::string{id} +
                              ", which is not in a trusted keyring; if you trust its publisher, get their "
                              "key's .pub line and pass it with --trust FILE or add it to the plugins "
                              "folder's trusted-keys");
    auto sig = from_base64<crypto_sign_BYTES>(signature);
    const std::string statement = signed_statement(name, version, sha256);
    if (!sig || crypto_sign_verify_detached(sig->data(), reinterpret_cast<const unsigned char*>(statement.data()),
                                            statement.size(), entry->key.data()) != 0)
        return make_error(Errc::signature_refused,
                          "the signature of " + package + " by key " + std::string{id} +
                              " does not match its name, version and sha256: the hub's index entry was "
                              "changed after it was signed; do not install it, tell the hub's owner");
    return {};
}

}  // namespace adashta::plugins
