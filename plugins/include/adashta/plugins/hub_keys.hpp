// Publisher keys and package signatures of a plugin hub: Ed25519 through libsodium
// (docs/plugins.md, "Hubs" and "Publishing").
//
//   auto key = plugins::SigningKey::generate();
//   std::string sig = key.sign("hello", "1.0.0", sha256);          // base64, into index.json
//   auto ring = plugins::Keyring::read({"adashta-data/plugins/trusted-keys"});
//   Status ok = ring->verify("hello", "1.0.0", sha256, key.key_id(), sig);  // signature_refused
//
// What is signed is signed_statement(name, version, sha256): a domain-separated text, so a
// signature made for one package (or for anything else the key signs) is never valid for
// another name, version or content.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::plugins {

inline constexpr std::size_t kPublicKeyBytes = 32;  // crypto_sign_PUBLICKEYBYTES
inline constexpr std::size_t kSecretKeyBytes = 64;  // crypto_sign_SECRETKEYBYTES
using PublicKey = std::array<unsigned char, kPublicKeyBytes>;

// The bytes a package's signature is over: "adashta-plugin-package-v1", then name, version
// and sha256 (lowercase hex), each after a NUL byte. Names and versions cannot hold a NUL,
// so two different packages never give the same statement.
std::string signed_statement(std::string_view name, std::string_view version, std::string_view sha256);

// A public key's id, as index.json names it: the first 16 hex digits of its SHA-256.
std::string key_id(const PublicKey& key);

// The keyring line of a public key: "ed25519 BASE64 LABEL".
std::string keyring_line(const PublicKey& key, std::string_view label);

// A publisher's secret key. Its file is two lines (docs/plugins.md, "Publishing"):
//   # adashta hub signing key: secret, keep it 0600
//   ed25519-secret BASE64 LABEL
class SigningKey {
public:
    static SigningKey generate();
    // bad_key when the file is missing, not such a key, or readable by others than its owner.
    static Result<SigningKey> load(const std::filesystem::path& file);
    // Writes the secret key to file (mode 0600; refuses to overwrite: bad_key) and its
    // keyring line to file + ".pub".
    Status save(const std::filesystem::path& file, std::string_view label) const;

    const PublicKey& public_key() const { return public_; }
    std::string key_id() const { return plugins::key_id(public_); }
    // The signature of signed_statement(name, version, sha256), base64.
    std::string sign(std::string_view name, std::string_view version, std::string_view sha256) const;

private:
    std::array<unsigned char, kSecretKeyBytes> secret_{};  // libsodium's seed + public key
    PublicKey public_{};                                  // its public half
};

// The publisher keys a machine trusts: keyring files of lines "ed25519 BASE64 [LABEL]",
// blank lines and # comments ignored.
class Keyring {
public:
    struct Entry {
        PublicKey key;      // the public key
        std::string id;     // key_id(key)
        std::string label;  // what the line calls it
        std::string file;   // the keyring file it came from
    };
    // Reads each file; a file that does not exist adds nothing (the default keyring is
    // optional), a malformed line is bad_key naming the file and line.
    static Result<Keyring> read(const std::vector<std::filesystem::path>& files);
    void add(const PublicKey& key, std::string label, std::string file);

    const Entry* find(std::string_view id) const;
    const std::vector<Entry>& entries() const { return entries_; }

    // Checks a package's signature: signature_refused when it is empty (unsigned), the key
    // id is not in the keyring, or the signature is not valid for this name, version and
    // sha256 (the index entry was changed after signing, or signed for another package).
    Status verify(std::string_view name, std::string_view version, std::string_view sha256,
                  std::string_view id, std::string_view signature) const;

private:
    std::vector<Entry> entries_;  // in the order read
};

}  // namespace adashta::plugins
