// JWTs through libjwt (OpenSSL flavour). libjwt checks the signature with the key it is
// given whatever algorithm the token names, and accepts `alg: none` as unsigned: so every
// verify compares the token's algorithm with the key's before trusting anything.
#include "adashta/token.hpp"

#include <jwt.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "adashta/json.hpp"

namespace adashta::token {
namespace {

constexpr std::size_t kMinSecretBytes = 32;
constexpr std::size_t kMaxTokenBytes = 8192;  // far above any real token; bounds the parse

struct JwtFree {
    void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

struct CharFree {
    void operator()(char* p) const { std::free(p); }
};
using CharPtr = std::unique_ptr<char, CharFree>;

jwt_alg_t to_jwt(Algorithm alg) {
    switch (alg) {
        case Algorithm::hs256:
            return JWT_ALG_HS256;
        case Algorithm::rs256:
            return JWT_ALG_RS256;
        case Algorithm::es256:
            return JWT_ALG_ES256;
    }
    return JWT_ALG_INVAL;
}

Error invalid(std::string why) {
    return make_error(Errc::token_invalid, std::move(why));
}

// A grant claim: absent is none; otherwise an array of strings.
Status read_grant(jwt_t* jwt, const char* name, std::vector<std::string>& out) {
    CharPtr json{jwt_get_grants_json(jwt, name)};
    if (!json) return {};
    auto elements = json::array_elements(json.get());
    if (!elements) return invalid(std::string{"\""} + name + "\" must be an array of strings");
    for (std::string_view element : *elements) {
        auto text = json::unquote(element);
        if (!text) return invalid(std::string{"\""} + name + "\" must be an array of strings");
        out.push_back(std::move(*text));
    }
    return {};
}

void add_grant(std::string& json, const char* name, const std::vector<std::string>& patterns) {
    if (patterns.empty()) return;
    json += json.size() > 1 ? "," : "";
    json += json::quote(name);
    json += ":[";
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        if (i) json += ',';
        json += json::quote(patterns[i]);
    }
    json += ']';
}

// base64url without padding -> bytes; empty on a character outside the alphabet.
std::string base64url_decode(std::string_view in) {
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : in) {
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-' || c == '+')
            v = 62;
        else if (c == '_' || c == '/')
            v = 63;
        else if (c == '=')
            break;
        else
            return {};
        buffer = (buffer << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    unsigned buffer = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(buffer >> bits) & 63];
        }
    }
    if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
    return out;
}

std::string_view algorithm_name(Algorithm alg) {
    switch (alg) {
        case Algorithm::hs256:
            return "HS256";
        case Algorithm::rs256:
            return "RS256";
        case Algorithm::es256:
            return "ES256";
    }
    return "?";
}

Result<Key> Key::from_secret(std::string secret) {
    if (secret.size() < kMinSecretBytes)
        return make_error(Errc::bad_option,
                          "an HS256 token secret needs at least 32 bytes, got " +
                              std::to_string(secret.size()) +
                              " (make one with: openssl rand -hex 32)");
    return Key{.alg = Algorithm::hs256, .material = std::move(secret)};
}

Result<Key> Key::from_pem(std::string pem, std::string_view name) {
    // The PEM label says the key type; OpenSSL's generic "PRIVATE KEY" / "PUBLIC KEY" labels
    // hide it, so those are told apart by what libjwt accepts below.
    const bool ec = pem.find("EC PRIVATE KEY") != std::string::npos;
    const bool rsa = pem.find("RSA PRIVATE KEY") != std::string::npos ||
                     pem.find("RSA PUBLIC KEY") != std::string::npos;
    const bool generic = pem.find("-----BEGIN PRIVATE KEY") != std::string::npos ||
                         pem.find("-----BEGIN PUBLIC KEY") != std::string::npos;
    if (!ec && !rsa && !generic)
        return make_error(Errc::bad_option,
                          std::string{name} + " holds no PEM key (want an RSA or EC P-256 key)");
    if (ec) return Key{.alg = Algorithm::es256, .material = std::move(pem)};
    if (rsa) return Key{.alg = Algorithm::rs256, .material = std::move(pem)};
    if (pem.find("-----BEGIN PRIVATE KEY") != std::string::npos) {
        // PKCS#8 hides the type: the algorithm is the one this key can sign with.
        for (Algorithm alg : {Algorithm::rs256, Algorithm::es256}) {
            Key key{.alg = alg, .material = pem};
            if (mint({.subject = "probe", .expires_s = 1}, key)) return key;
        }
        return make_error(Errc::bad_option, std::string{name} +
                                                " holds a private key that is neither RSA nor EC P-256");
    }
    // A SubjectPublicKeyInfo: an EC key names the id-ecPublicKey OID in its DER.
    const auto body_start = pem.find('\n');
    const auto body_end = pem.find("-----END");
    std::string body;
    if (body_start != std::string::npos && body_end != std::string::npos && body_end > body_start)
        for (char c : pem.substr(body_start + 1, body_end - body_start - 1))
            if (c != '\n' && c != '\r') body += c;
    static const std::string kEcOid{"\x2a\x86\x48\xce\x3d\x02\x01", 7};
    const bool is_ec = base64url_decode(body).find(kEcOid) != std::string::npos;
    return Key{.alg = is_ec ? Algorithm::es256 : Algorithm::rs256, .material = std::move(pem)};
}

Result<Key> Key::from_pem_file(const std::string& path) {
    std::ifstream in{path};
    if (!in) return make_error(Errc::bad_option, "cannot read the key file \"" + path + "\"");
    std::ostringstream text;
    text << in.rdbuf();
    return from_pem(text.str(), "the key file \"" + path + "\"");
}

Result<std::string> mint(const Claims& claims, const Key& key) {
    if (claims.subject.empty()) return make_error(Errc::bad_option, "a token needs a subject");
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) return make_error(Errc::bad_option, "libjwt: out of memory");
    JwtPtr jwt{raw};
    std::string json = "{\"sub\":" + json::quote(claims.subject) +
                       ",\"exp\":" + std::to_string(claims.expires_s);
    add_grant(json, "produce", claims.grants.produce);
    add_grant(json, "consume", claims.grants.consume);
    add_grant(json, "fetch", claims.grants.fetch);
    json += '}';
    if (jwt_add_grants_json(jwt.get(), json.c_str()) != 0)
        return make_error(Errc::bad_option, "libjwt refused the claims");
    const auto* material = reinterpret_cast<const unsigned char*>(key.material.data());
    if (jwt_set_alg(jwt.get(), to_jwt(key.alg), material, static_cast<int>(key.material.size())) !=
        0)
        return make_error(Errc::bad_option, "libjwt refused the key");
    CharPtr encoded{jwt_encode_str(jwt.get())};
    if (!encoded)
        return make_error(Errc::bad_option,
                          std::string{"cannot sign with this key as "} +
                              std::string{algorithm_name(key.alg)} +
                              (key.alg == Algorithm::hs256 ? "" : " (a private key is needed)"));
    return std::string{encoded.get()};
}

Result<Claims> verify(std::string_view token, const Key& key, std::int64_t now_s) {
    if (token.empty()) return invalid("the token is empty");
    if (token.size() > kMaxTokenBytes) return invalid("the token is longer than 8192 bytes");
    if (token.find('\0') != std::string_view::npos) return invalid("the token holds a NUL byte");
    const std::string text{token};
    jwt_t* raw = nullptr;
    const auto* material = reinterpret_cast<const unsigned char*>(key.material.data());
    const int rc = jwt_decode(&raw, text.c_str(), material, static_cast<int>(key.material.size()));
    JwtPtr jwt{raw};
    if (rc != 0 || !jwt) return invalid("malformed, or not signed with this edge's key");
    const jwt_alg_t alg = jwt_get_alg(jwt.get());
    if (alg != to_jwt(key.alg))
        return invalid(std::string{"signed with "} + jwt_alg_str(alg) + ", this edge accepts " +
                       std::string{algorithm_name(key.alg)} + " only");
    Claims claims;
    errno = 0;
    const char* sub = jwt_get_grant(jwt.get(), "sub");
    if (!sub || !*sub) return invalid("no \"sub\" (the user) in the token");
    claims.subject = sub;
    errno = 0;
    const long exp = jwt_get_grant_int(jwt.get(), "exp");
    if (errno != 0 || exp <= 0) return invalid("no \"exp\" (expiry, seconds since the epoch)");
    claims.expires_s = exp;
    if (claims.expires_s <= now_s)
        return make_error(Errc::token_expired, "expired " + std::to_string(now_s - exp) + " s ago");
    if (auto ok = read_grant(jwt.get(), "produce", claims.grants.produce); !ok) return ok.error();
    if (auto ok = read_grant(jwt.get(), "consume", claims.grants.consume); !ok) return ok.error();
    if (auto ok = read_grant(jwt.get(), "fetch", claims.grants.fetch); !ok) return ok.error();
    if (CharPtr all{jwt_get_grants_json(jwt.get(), nullptr)}) claims.payload = all.get();
    return claims;
}

std::int64_t peek_expiry(std::string_view token) {
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    if (first == std::string_view::npos || second == std::string_view::npos) return 0;
    const std::string payload = base64url_decode(token.substr(first + 1, second - first - 1));
    auto obj = json::ObjectView::parse(payload);
    if (!obj) return 0;
    return obj->integer("exp").value_or(0);
}

bool matches(std::string_view pattern, std::string_view queue) {
    // Glob with one wildcard kind: on a mismatch after a `*`, that `*` takes one more
    // character (backtracking to the last star only, which suffices for `*`-only globs).
    std::size_t p = 0;
    std::size_t q = 0;
    std::size_t star = std::string_view::npos;
    std::size_t star_q = 0;
    while (q < queue.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            star_q = q;
        } else if (p < pattern.size() && pattern[p] == queue[q]) {
            ++p;
            ++q;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            q = ++star_q;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

bool allows(const std::vector<std::string>& patterns, std::string_view queue) {
    for (const auto& pattern : patterns)
        if (matches(pattern, queue)) return true;
    return false;
}

}  // namespace adashta::token
