// Resume secrets: what a client must show, beside its session id, to resume a session. The
// edge gives each session its secret in `welcome`; the secret is an HMAC-SHA256 of the
// session id and the session's user (the token's `sub`, empty without one) under a key
// only the edge knows. So the edge checks a resume without remembering anything (sessions
// resume across restarts: their inboxes are in the store), a client cannot make up an id
// the edge would take, and a stolen id alone, or an id with a token of another user, resumes
// nothing.
//
//   auto secrets = ResumeSecrets::open("adashta-data/session.key");   // made at first start
//   std::string secret = secrets->issue(session, user);               // -> welcome
//   if (!secrets->check(session, user, hello.secret)) refuse();       // constant time
//
// Thread-safe after open (the key never changes).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "adashta/result.hpp"

namespace adashta::edge {

class ResumeSecrets {
public:
    // Reads the 32-byte key in path, or makes one (mode 0600) when the file does not exist.
    // bad_option when the file cannot be read or written, or is not a key this edge made
    // (the message names the file and says how to recover: delete it, which invalidates
    // every session).
    static Result<std::unique_ptr<ResumeSecrets>> open(const std::string& path);
    ~ResumeSecrets();

    // The secret of session for user: 64 hex characters.
    std::string issue(std::string_view session, std::string_view user) const;
    // Whether secret is the one issue(session, user) gives, compared in constant time.
    bool check(std::string_view session, std::string_view user, std::string_view secret) const;

private:
    ResumeSecrets() = default;
    std::array<unsigned char, 32> key_{};  // HMAC-SHA256 key; wiped on destruction
};

}  // namespace adashta::edge
