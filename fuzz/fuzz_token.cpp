// Connection tokens (common/src/token.cpp): JWT parsing and verification with HS256, RS256
// and ES256 keys, the unchecked expiry peek, PEM key reading, and the grant glob. The first
// input byte picks what the rest is:
//   0  a token, verified with each key (the edge's path for hello and refresh)
//   1  header JSON, a 0 byte, payload JSON: signed here with the HS256 key and verified, so
//      the claims reading behind the signature check is reached too
//   2  PEM text for Key::from_pem
//   3  pattern, a 0 byte, queue name: token::matches against a plain recursive glob
// The keys are fuzz/keys/ (made for this only; see fuzz/README.md).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/token.hpp"
#include "check.hpp"

namespace token = adashta::token;

namespace {

constexpr std::int64_t kNow = 1'900'000'000;  // seeds expire after it: 2030
constexpr std::string_view kSecret = "fuzz-secret-fuzz-secret-fuzz-secret-0123";

struct Keys {
    token::Key hs256;
    token::Key rs256;
    token::Key es256;
};
const Keys* g_keys = nullptr;

token::Key load(const char* name) {
    const std::string path = std::string{ADASHTA_FUZZ_KEYS} + "/" + name;
    auto key = token::Key::from_pem_file(path);
    if (!key) {
        std::fprintf(stderr, "fuzz_token: %s\n", key.error().to_string().c_str());
        std::abort();
    }
    return *key;
}

std::string sign_hs256(std::string_view header, std::string_view payload) {
    std::string text = token::base64url_encode(header) + "." + token::base64url_encode(payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &mac_size);
    return text + "." + token::base64url_encode({reinterpret_cast<const char*>(mac), mac_size});
}

void check_verified(const adashta::Result<token::Claims>& claims) {
    if (!claims) {
        FUZZ_CHECK(claims.error().code == adashta::Errc::token_invalid ||
                   claims.error().code == adashta::Errc::token_expired);
        return;
    }
    FUZZ_CHECK(!claims->subject.empty());
    FUZZ_CHECK(claims->expires_s > kNow);
    for (const auto* grants : {&claims->grants.produce, &claims->grants.consume,
                               &claims->grants.fetch})
        for (const auto& pattern : *grants) (void)token::allows({pattern}, "q");
}

// The glob by the book: at[i][j] says whether pattern[i:] matches queue[j:].
bool glob(std::string_view pattern, std::string_view queue) {
    const std::size_t n = pattern.size();
    const std::size_t m = queue.size();
    std::vector<std::vector<char>> at(n + 1, std::vector<char>(m + 1, 0));
    at[n][m] = 1;
    for (std::size_t i = n; i-- > 0;)
        for (std::size_t j = m + 1; j-- > 0;)
            at[i][j] = pattern[i] == '*'
                           ? (at[i + 1][j] || (j < m && at[i][j + 1]))
                           : (j < m && pattern[i] == queue[j] && at[i + 1][j + 1]);
    return at[0][0] != 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    auto hs = token::Key::from_secret(std::string{kSecret});
    if (!hs) std::abort();
    g_keys = new Keys{*hs, load("rs256.pub.pem"), load("es256.pub.pem")};
    FUZZ_CHECK(g_keys->rs256.alg == token::Algorithm::rs256);
    FUZZ_CHECK(g_keys->es256.alg == token::Algorithm::es256);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view in{reinterpret_cast<const char*>(data) + 1, size - 1};
    const auto split = in.find('\0');
    const std::string_view first = in.substr(0, split);
    const std::string_view second = split == std::string_view::npos ? "" : in.substr(split + 1);
    switch (data[0] % 4) {
        case 0:
            for (const token::Key* key : {&g_keys->hs256, &g_keys->rs256, &g_keys->es256})
                check_verified(token::verify(in, *key, kNow));
            (void)token::peek_expiry(in);
            break;
        case 1: {
            const std::string jwt = sign_hs256(first, second);
            check_verified(token::verify(jwt, g_keys->hs256, kNow));
            (void)token::peek_expiry(jwt);
            break;
        }
        case 2:
            if (auto key = token::Key::from_pem(std::string{in}, "fuzz input"))
                (void)token::verify("a.b.c", *key, kNow);
            break;
        case 3:
            FUZZ_CHECK(token::matches(first, second) == glob(first, second));
            break;
    }
    return 0;
}
