#include "resume_secrets.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace adashta::edge {
namespace {

constexpr std::string_view kFileTag = "adashta-session-key-v1\n";  // then 64 hex characters

Error key_error(const std::string& path, std::string what) {
    return make_error(Errc::bad_option,
                      "session key file \"" + path + "\": " + what +
                          " (delete it to make a new key; every session then starts anew)");
}

}  // namespace

Result<std::unique_ptr<ResumeSecrets>> ResumeSecrets::open(const std::string& path) {
    if (sodium_init() < 0) return key_error(path, "libsodium could not start");
    std::unique_ptr<ResumeSecrets> secrets{new ResumeSecrets};
    const std::size_t file_size = kFileTag.size() + 64 + 1;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        randombytes_buf(secrets->key_.data(), secrets->key_.size());
        std::string text{kFileTag};
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, secrets->key_.data(), secrets->key_.size());
        text += hex;
        text += '\n';
        sodium_memzero(hex, sizeof hex);
        // O_EXCL: two edges started on one folder at once must not each write a key.
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return key_error(path, std::string{"cannot create it: "} + std::strerror(errno));
        const bool written = ::write(fd, text.data(), text.size()) ==
                                 static_cast<ssize_t>(text.size()) &&
                             ::fsync(fd) == 0;
        ::close(fd);
        sodium_memzero(text.data(), text.size());
        if (!written) return key_error(path, "cannot write it");
        return secrets;
    }
    if (fd < 0) return key_error(path, std::string{"cannot read it: "} + std::strerror(errno));
    std::string text(file_size + 1, '\0');
    const ssize_t n = ::read(fd, text.data(), text.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(file_size) || !std::string_view{text}.starts_with(kFileTag))
        return key_error(path, "it is not an Adashta session key");
    std::size_t decoded = 0;
    if (sodium_hex2bin(secrets->key_.data(), secrets->key_.size(), text.data() + kFileTag.size(),
                       64, nullptr, &decoded, nullptr) != 0 ||
        decoded != secrets->key_.size())
        return key_error(path, "it is not an Adashta session key");
    sodium_memzero(text.data(), text.size());
    return secrets;
}

ResumeSecrets::~ResumeSecrets() {
    sodium_memzero(key_.data(), key_.size());
}

std::string ResumeSecrets::issue(std::string_view session, std::string_view user) const {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, key_.data(), key_.size());
    // Length-prefixed fields, so ("s-ab", "c") and ("s-a", "bc") never hash alike.
    for (std::string_view field : {session, user}) {
        const unsigned char size[2] = {static_cast<unsigned char>(field.size() >> 8),
                                       static_cast<unsigned char>(field.size())};
        crypto_auth_hmacsha256_update(&state, size, sizeof size);
        crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(field.data()),
                                      field.size());
    }
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&state, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    return std::string{hex};
}

bool ResumeSecrets::check(std::string_view session, std::string_view user,
                          std::string_view secret) const {
    const std::string expected = issue(session, user);
    if (secret.size() != expected.size()) return false;
    return sodium_memcmp(expected.data(), secret.data(), expected.size()) == 0;
}

}  // namespace adashta::edge
