// Who may connect to the edge and what each connection may do: the authentication mode,
// the token key, the grants of anonymous sessions and the Origin allow-list
// (docs/security.md). Made once at start from the flags and the config file; read-only
// after that, so the HTTP thread reads it without locks.
//
//   auto access = Access::make(options);            // flags + "auth"/"allowedOrigins" keys
//   auto admitted = access->admit(hello.token, now_s);
//   if (!admitted) close(admitted.error().code);    // token_required / _invalid / _expired
//   if (!admitted->may(Action::consume, "chat")) refuse(Errc::not_granted);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/result.hpp"
#include "adashta/token.hpp"

namespace adashta::edge {

struct EdgeOptions;

enum class AuthMode {
    off,       // no tokens: every client may do everything (local development)
    optional,  // a token is checked when given; without one, the anonymous grants apply
    required,  // every connection presents a valid token in hello
};

enum class Action { produce, consume, fetch };

// What one connection is: its user and what it may do, until when.
struct Admission {
    std::string user;            // the token's sub; empty for anonymous or auth off
    token::Grants grants;        // queue patterns by action
    bool everything = false;     // auth off: no grant is checked
    std::int64_t expires_s = 0;  // the token's exp; 0 = never (no token)
    std::string claims;          // the verified token's claims, JSON; empty: no token

    bool may(Action action, std::string_view queue) const;
};

class Access {
public:
    // From options.auth, token_secret(_file), token_public_key, allowed_origins and the
    // "auth" and "allowedOrigins" keys of options.config. bad_option (naming the flag, or the
    // file and key) for an unknown mode, an unreadable or weak key, or a mode that needs a
    // key without one. The default mode is off without a key and required with one.
    static Result<Access> make(const EdgeOptions& options);

    AuthMode mode() const { return mode_; }
    bool has_key() const { return key_.has_value(); }
    // What a hello with token (empty: none) admits now. token_required when the mode needs
    // one; token_invalid / token_expired from token::verify.
    Result<Admission> admit(std::string_view token, std::int64_t now_s) const;
    // A refresh: the new token must verify and be for the same user as before.
    Result<Admission> refresh(std::string_view token, const Admission& current,
                              std::int64_t now_s) const;
    // Whether a WebSocket upgrade with this Origin header (empty: none, a non-browser
    // client) may go on; host is the request's Host header, for the default allow-list
    // (the edge's own origin, http:// or https://).
    bool origin_allowed(std::string_view origin, std::string_view host) const;
    const std::vector<std::string>& allowed_origins() const { return origins_; }

private:
    AuthMode mode_ = AuthMode::off;
    std::optional<token::Key> key_;  // checks tokens; empty with auth off and no key
    token::Grants anonymous_;        // what a session without a token may do (optional mode)
    std::vector<std::string> origins_;  // allowed Origin values; empty = the edge's own; "*" any
};

// "off", "optional", "required".
std::string_view auth_mode_name(AuthMode mode);

}  // namespace adashta::edge
