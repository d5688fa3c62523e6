#include "access.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "adashta/json.hpp"
#include "edge.hpp"

namespace adashta::edge {
namespace {

Error config_error(const std::string& where, const std::string& what) {
    return make_error(Errc::bad_option, where + ": " + what);
}

// A JSON array of strings at raw, for where (a file and key, for the message).
Result<std::vector<std::string>> strings_at(std::string_view raw, const std::string& where) {
    auto elements = json::array_elements(raw);
    if (!elements) return config_error(where, "expected an array of strings, like [\"chat.*\"]");
    std::vector<std::string> out;
    for (std::string_view element : *elements) {
        auto text = json::unquote(element);
        if (!text) return config_error(where, "expected an array of strings, like [\"chat.*\"]");
        out.push_back(std::move(*text));
    }
    return out;
}

Result<AuthMode> parse_mode(std::string_view text, const std::string& where) {
    if (text == "off") return AuthMode::off;
    if (text == "optional") return AuthMode::optional;
    if (text == "required") return AuthMode::required;
    return config_error(where, std::string{"\""}.append(text) + "\" is not a mode; use required, optional or off");
}

struct FileAccess {
    std::optional<AuthMode> mode;
    token::Grants anonymous;
    std::optional<std::vector<std::string>> origins;
};

// The "auth" and "allowedOrigins" keys of the config file (the queues are the store's).
Result<FileAccess> read_config(const std::string& path) {
    FileAccess out;
    if (path.empty()) return out;
    std::ifstream in{path, std::ios::binary};
    if (!in) return out;  // the store's loader reports a missing file with its example
    std::ostringstream text;
    text << in.rdbuf();
    const std::string contents = text.str();
    auto top = json::ObjectView::parse(contents);
    if (!top) return out;  // likewise: the store's loader says where the JSON breaks
    if (auto origins = top->raw("allowedOrigins")) {
        auto list = strings_at(*origins, path + ": allowedOrigins");
        if (!list) return list.error();
        out.origins = std::move(*list);
    }
    auto auth_raw = top->raw("auth");
    if (!auth_raw) return out;
    auto auth = json::ObjectView::parse(*auth_raw);
    if (!auth) return config_error(path + ": auth", "expected an object {\"mode\": ..., \"anonymous\": {...}}");
    std::size_t known = 0;
    if (auth->has("mode")) {
        ++known;
        auto mode_text = auth->string("mode");
        if (!mode_text) return config_error(path + ": auth.mode", "expected a string: required, optional or off");
        auto mode = parse_mode(*mode_text, path + ": auth.mode");
        if (!mode) return mode.error();
        out.mode = *mode;
    }
    if (auto anonymous_raw = auth->raw("anonymous")) {
        ++known;
        auto anonymous = json::ObjectView::parse(*anonymous_raw);
        if (!anonymous)
            return config_error(path + ": auth.anonymous",
                                "expected an object {\"produce\": [...], \"consume\": [...], \"fetch\": [...]}");
        std::size_t grants = 0;
        for (auto [name, list] : {std::pair{"produce", &out.anonymous.produce},
                                  std::pair{"consume", &out.anonymous.consume},
                                  std::pair{"fetch", &out.anonymous.fetch}}) {
            auto raw = anonymous->raw(name);
            if (!raw) continue;
            ++grants;
            auto patterns = strings_at(*raw, path + ": auth.anonymous." + name);
            if (!patterns) return patterns.error();
            *list = std::move(*patterns);
        }
        if (grants != anonymous->size())
            return config_error(path + ": auth.anonymous",
                                "unknown key; it holds produce, consume and fetch");
    }
    if (known != auth->size())
        return config_error(path + ": auth", "unknown key; it holds mode and anonymous");
    return out;
}

Result<std::string> read_secret_file(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) return make_error(Errc::bad_option, "--token-secret-file: cannot read \"" + path + "\"");
    std::ostringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return secret;
}

}  // namespace

std::string_view auth_mode_name(AuthMode mode) {
    switch (mode) {
        case AuthMode::off:
            return "off";
        case AuthMode::optional:
            return "optional";
        case AuthMode::required:
            return "required";
    }
    return "?";
}

bool Admission::may(Action action, std::string_view queue) const {
    if (everything) return true;
    switch (action) {
        case Action::produce:
            return token::allows(grants.produce, queue);
        case Action::consume:
            return token::allows(grants.consume, queue);
        case Action::fetch:
            return token::allows(grants.fetch, queue);
    }
    return false;
}

Result<Access> Access::make(const EdgeOptions& options) {
    Access access;
    auto file = read_config(options.config);
    if (!file) return file.error();

    int sources = 0;
    std::string secret = options.token_secret;
    if (!secret.empty()) ++sources;
    if (!options.token_secret_file.empty()) {
        ++sources;
        auto read = read_secret_file(options.token_secret_file);
        if (!read) return read.error();
        secret = std::move(*read);
    }
    if (!options.token_public_key.empty()) ++sources;
    if (sources > 1)
        return make_error(Errc::bad_option,
                          "give one of --token-secret, --token-secret-file and --token-public-key");
    if (!secret.empty()) {
        auto key = token::Key::from_secret(std::move(secret));
        if (!key) return key.error();
        access.key_ = std::move(*key);
    } else if (!options.token_public_key.empty()) {
        auto key = token::Key::from_pem_file(options.token_public_key);
        if (!key) return key.error();
        access.key_ = std::move(*key);
    }

    AuthMode mode = access.key_ ? AuthMode::required : AuthMode::off;
    if (file->mode) mode = *file->mode;
    if (!options.auth.empty()) {
        auto flag = parse_mode(options.auth, "--auth");
        if (!flag) return flag.error();
        mode = *flag;
    }
    if (mode != AuthMode::off && !access.key_) {
        // Name what set the mode: the flag (or its variable), or the file's key.
        const std::string name{auth_mode_name(mode)};
        const std::string what =
            options.auth.empty() ? options.config + ": auth.mode: " + name : "--auth " + name;
        return make_error(Errc::bad_option,
                          what + " needs a key to check tokens with: --token-secret "
                                 "(ADASHTA_TOKEN_SECRET), --token-secret-file or --token-public-key");
    }
    access.mode_ = mode;
    access.anonymous_ = std::move(file->anonymous);
    access.origins_ = options.allowed_origins.empty() && file->origins ? std::move(*file->origins)
                                                                       : options.allowed_origins;
    return access;
}

Result<Admission> Access::admit(std::string_view token, std::int64_t now_s) const {
    if (token.empty()) {
        switch (mode_) {
            case AuthMode::off:
                return Admission{.everything = true};
            case AuthMode::optional:
                return Admission{.grants = anonymous_};
            case AuthMode::required:
                return make_error(Errc::token_required);
        }
    }
    // With auth off a token still names its user, when the edge has a key to check it with.
    if (!key_) return Admission{.everything = true};
    auto claims = token::verify(token, *key_, now_s);
    if (!claims) return claims.error();
    return Admission{.user = std::move(claims->subject),
                     .grants = std::move(claims->grants),
                     .everything = mode_ == AuthMode::off,
                     .expires_s = claims->expires_s,
                     .claims = std::move(claims->payload)};
}

Result<Admission> Access::refresh(std::string_view token, const Admission& current,
                                  std::int64_t now_s) const {
    if (token.empty()) return make_error(Errc::token_invalid, "refresh carries no token");
    auto next = admit(token, now_s);
    if (!next) return next.error();
    if (next->user != current.user)
        return make_error(Errc::token_invalid, "the new token is for another user (sub \"" +
                                                   next->user + "\", the connection's is \"" +
                                                   current.user + "\")");
    return next;
}

bool Access::origin_allowed(std::string_view origin, std::string_view host) const {
    if (origin.empty()) return true;  // not a browser: Origin guards browsers' users only
    if (origins_.empty())
        return !host.empty() && (origin == "http://" + std::string{host} ||
                                 origin == "https://" + std::string{host});
    for (const auto& allowed : origins_)
        if (allowed == "*" || allowed == origin) return true;
    return false;
}

}  // namespace adashta::edge
