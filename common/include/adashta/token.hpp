// Connection tokens: the JWTs a browser presents in hello (docs/security.md). A token says
// who the user is (`sub`), until when it holds (`exp`, seconds since the epoch), and which
// queues the client may produce to, consume and fetch (`produce`, `consume`, `fetch`: arrays
// of patterns, where `*` matches any run of characters). Signed with HS256 (a shared
// secret) or RS256 / ES256 (a private key; the edge holds only the public one), through
// libjwt.
//
//   auto key = token::Key::from_secret(secret);                    // HS256, both sides
//   auto jwt = token::mint({.subject = "alice", .expires_s = now_s + 3600,
//                           .grants = {.consume = {"chat.*"}}}, *key);
//   auto claims = token::verify(*jwt, *key, now_s);                // edge side
//   if (claims && token::allows(claims->grants.consume, "chat.lobby")) ...
//
// Thread-safe: every call works on its own libjwt objects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/result.hpp"

namespace adashta::token {

enum class Algorithm { hs256, rs256, es256 };

// "HS256", "RS256" or "ES256".
std::string_view algorithm_name(Algorithm alg);

// What signs or checks a token. For HS256 the secret itself; for RS256 / ES256 a PEM key:
// the private one to mint, the public one (or the private one) to verify.
struct Key {
    Algorithm alg = Algorithm::hs256;  // the only algorithm this key accepts
    std::string material;              // secret bytes, or PEM text

    // HS256 with secret; bad_option when it is shorter than 32 bytes (a guessable secret
    // would let anyone mint tokens).
    static Result<Key> from_secret(std::string secret);
    // Reads a PEM file: an RSA key gives RS256, an EC P-256 key ES256. bad_option when the
    // file cannot be read or holds no such key, naming the file.
    static Result<Key> from_pem_file(const std::string& path);
    // The same from PEM text (name: where it came from, for the message).
    static Result<Key> from_pem(std::string pem, std::string_view name);
};

// The queues a token grants, by what the client does with them.
struct Grants {
    std::vector<std::string> produce;  // patterns of queues it may produce to
    std::vector<std::string> consume;  // ... consume (live delivery and resume)
    std::vector<std::string> fetch;    // ... fetch history from
};

struct Claims {
    std::string subject;         // `sub`: the user; never empty in a verified token
    std::int64_t expires_s = 0;  // `exp`, seconds since the Unix epoch
    Grants grants;               // `produce`, `consume`, `fetch`
    std::string payload;         // verify(): every claim, as the token's JSON object
};

// A signed token for claims. bad_option when the subject is empty or the key cannot sign
// (a public key given for RS256 / ES256).
Result<std::string> mint(const Claims& claims, const Key& key);

// Checks the signature with key and returns the claims. The token's own `alg` must be the
// key's: `none`, and an HS256 token "signed" with an RSA public key, are refused.
// token_invalid (with the reason) when it is malformed, signed otherwise, lacks `sub` or
// `exp`, or its grants are not arrays of strings; token_expired when exp <= now_s.
Result<Claims> verify(std::string_view token, const Key& key, std::int64_t now_s);

// The payload's `exp` without checking anything, for a client that wants to know when to
// refresh; 0 when there is none.
std::int64_t peek_expiry(std::string_view token);

// bytes -> base64url without padding, as a JWT writes its three parts; for tests and
// tools that build a token by hand (mint() is the way to make real ones).
std::string base64url_encode(std::string_view bytes);

// Whether queue matches pattern: `*` matches any run of characters (also none), every
// other character itself.
bool matches(std::string_view pattern, std::string_view queue);
// Whether any of patterns matches queue.
bool allows(const std::vector<std::string>& patterns, std::string_view queue);

}  // namespace adashta::token
