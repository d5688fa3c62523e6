// adashta token: mints a connection token (JWT) for development and tests.
#include <iostream>

#include "adashta/ids.hpp"
#include "adashta/text.hpp"
#include "adashta/token.hpp"
#include "args.hpp"
#include "commands.hpp"

namespace adashta::cli {
namespace {

constexpr std::string_view kHelp = R"(Usage: adashta token --sub USER [GRANTS] [--ttl-s S] KEY

Prints a connection token (JWT) for a browser: adashta.connect({ token }). Production
applications mint tokens in their own server (any JWT library: claims sub, exp, produce,
consume, fetch), or with the C++ SDK's adashta/token.hpp; this command is for development
and tests (docs/security.md).

Grants (comma-separated queue patterns; * matches any run of characters):
  --produce LIST          queues the client may produce to
  --consume LIST          queues it may consume
  --fetch LIST            queues whose history it may fetch

Options:
  --sub USER              the user (claim sub), required
  --ttl-s S               seconds until it expires (default 3600)

The key, as the edge is given it (one of):
  --secret SECRET         HS256 secret (default: $ADASHTA_TOKEN_SECRET)
  --secret-file FILE      HS256 secret in a file
  --private-key FILE      PEM private key: RSA signs RS256, EC P-256 signs ES256
                          (the edge gets the public key: --token-public-key)
  --help                  this text

Example:
  adashta token --sub alice --produce 'chat.*' --consume 'chat.*,user.alice' --secret "$S"
)";

constexpr Flag kFlags[] = {{"sub", true},         {"produce", true},     {"consume", true},
                           {"fetch", true},       {"ttl-s", true},       {"secret", true},
                           {"secret-file", true}, {"private-key", true}, {"help", false}};

Result<token::Key> key_from(const Args& args) {
    const char* env = std::getenv("ADASHTA_TOKEN_SECRET");
    const int given = static_cast<int>(args.has("secret")) + static_cast<int>(args.has("secret-file")) +
                      static_cast<int>(args.has("private-key"));
    if (given > 1) return make_error(Errc::bad_option, "give one of --secret, --secret-file and --private-key");
    if (args.has("private-key")) return token::Key::from_pem_file(args.value("private-key"));
    if (args.has("secret-file")) {
        std::FILE* file = std::fopen(args.value("secret-file").c_str(), "rb");
        if (!file) return make_error(Errc::bad_option, "--secret-file: cannot read \"" + args.value("secret-file") + "\"");
        std::string secret;
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) secret.append(buffer, n);
        std::fclose(file);
        while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
        return token::Key::from_secret(std::move(secret));
    }
    const std::string secret = args.value("secret", env ? env : "");
    if (secret.empty())
        return make_error(Errc::bad_option,
                          "no key: give --secret, --secret-file or --private-key (or set ADASHTA_TOKEN_SECRET)");
    return token::Key::from_secret(secret);
}

}  // namespace

int cmd_token(int argc, char** argv) {
    auto args = parse_args(argc, argv, kFlags, "token");
    if (!args) return fail(args.error());
    if (args->has("help")) {
        std::cout << kHelp;
        return 0;
    }
    if (!args->has("sub") || args->value("sub").empty() || !args->positional.empty()) {
        std::cerr << kHelp;
        return 2;
    }
    auto ttl = args->number("ttl-s", 3600, 1, 400LL * 86400);
    if (!ttl) return fail(ttl.error());
    auto key = key_from(*args);
    if (!key) return fail(key.error());
    token::Claims claims{.subject = args->value("sub"),
                         .expires_s = now_ms() / 1000 + *ttl,
                         .grants = {.produce = split_list(args->value("produce")),
                                    .consume = split_list(args->value("consume")),
                                    .fetch = split_list(args->value("fetch"))}};
    auto minted = token::mint(claims, *key);
    if (!minted) return fail(minted.error());
    std::cout << *minted << "\n";
    return 0;
}

}  // namespace adashta::cli
