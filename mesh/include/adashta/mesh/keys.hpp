// Mesh keys: each member's CURVE key pair, and the allow-list of the public keys that may
// join, each with the roles it may take (docs/security.md, "The mesh").
//
// Key files are CZMQ certificates (zcert): `adashta keys new FILE` writes FILE with the
// public key and FILE_secret with both keys (mode 0600). A member is given its _secret file.
//
// The allow-list is a text file, one member a line (a comment starts with # after white
// space or at the start of a line: a Z85 key may hold a # of its own):
//
//   # public key (Z85, 40 characters)        roles       where it listens (optional)
//   rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7  edge        tcp://10.0.0.1:7700  # edge-1
//   Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID  node,tool                        # orders app
//
// A seed needs the key of the member it dials: the line that names its endpoint gives it,
// or the seed carries it after a `|` (`tcp://10.0.0.1:7700|rq:rM>...`; `|` is not in Z85).
//
//   auto keys = KeyPair::load("edge.key_secret");
//   auto allowed = AllowList::load("mesh-allow");
//   if (const AllowedKey* k = allowed->find(public_key); k && k->may(wire::Role::Node)) ...
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/mesh_generated.h"
#include "adashta/result.hpp"

namespace adashta::mesh {

// Whether text is a Z85-encoded 32-byte key (40 characters of the Z85 alphabet).
bool is_z85_key(std::string_view text);

struct KeyPair {
    std::string public_key;  // Z85, 40 characters
    std::string secret_key;  // Z85, 40 characters; never logged

    // A new random pair (libsodium through CZMQ).
    static KeyPair generate();
    // Reads a zcert secret file (FILE_secret), or a public one plus its _secret beside it.
    // bad_key when it cannot be read or holds no secret key, naming the file.
    static Result<KeyPair> load(const std::string& path);
    // The pair of a Z85 secret key given as text (ADASHTA_MESH_SECRET). bad_key if not one.
    static Result<KeyPair> from_secret(std::string_view secret_z85);
    // Writes path (public key) and path_secret (both, mode 0600), with name as metadata.
    // bad_key when either cannot be written.
    Status save(const std::string& path, std::string_view name) const;
};

// The public key in a key file (public or _secret). bad_key when it is not one.
Result<std::string> read_public_key(const std::string& path);

// Role bits an allowed key carries.
struct AllowedKey {
    std::string key;       // Z85 public key
    bool edge = false;     // may join as an edge (holds browsers, answers store calls)
    bool node = false;     // may join as a server node (consumes queues, produces)
    bool tool = false;     // may join as a tool (the CLI: produce, fetch, peers, queues)
    std::string endpoint;  // where it listens, when the file says (lets seeds find the key)
    std::string name;      // the comment after #, for log lines

    bool may(wire::Role role) const;
    // "edge,node" and the like.
    std::string roles() const;
};

class AllowList {
public:
    // Reads the file. bad_key naming the file, the line and what is wrong for a line that is
    // not `KEY ROLES [ENDPOINT] [# NAME]`, a key listed twice, or a file that cannot be read
    // or lists no key.
    static Result<AllowList> load(const std::string& path);
    // The same from text (where: what to call it in errors).
    static Result<AllowList> parse(std::string_view text, const std::string& where);

    const AllowedKey* find(std::string_view key) const;
    // The key of the member the file says listens at endpoint (tcp://HOST:PORT), if any.
    const AllowedKey* find_by_endpoint(std::string_view endpoint) const;
    std::size_t size() const { return keys_.size(); }

private:
    std::map<std::string, AllowedKey, std::less<>> keys_;  // by public key
};

// "tcp://HOST:PORT|KEY" -> endpoint and key; a seed without `|` gives an empty key.
// bad_key when the part after `|` is not a Z85 key.
Result<std::pair<std::string, std::string>> split_seed(std::string_view seed);

}  // namespace adashta::mesh
