#include "url.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>
#include <cstring>

std::optional<Url> parse_url(std::string_view text, std::string_view scheme, std::string& error) {
    Url url;
    url.text = text;
    std::string prefix = std::string{scheme} + "://";
    if (text.substr(0, prefix.size()) != prefix) {
        error = "URL " + std::string{text} + " must start with " + prefix;
        return std::nullopt;
    }
    std::string_view rest = text.substr(prefix.size());
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    url.path = slash == std::string_view::npos ? "/" : std::string{rest.substr(slash)};
    std::size_t colon = authority.rfind(':');
    unsigned port = scheme == "nats" ? 4222 : 80;
    if (colon != std::string_view::npos) {
        std::string_view digits = authority.substr(colon + 1);
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (ec != std::errc{} || ptr != digits.data() + digits.size() || port == 0 ||
            port > 65535) {
            error = "bad port in URL " + std::string{text};
            return std::nullopt;
        }
        authority = authority.substr(0, colon);
    }
    url.host = authority;
    url.port = static_cast<uint16_t>(port);
    url.addr.sin_family = AF_INET;
    url.addr.sin_port = htons(url.port);
    std::string host = url.host == "localhost" ? "127.0.0.1" : url.host;
    if (inet_pton(AF_INET, host.c_str(), &url.addr.sin_addr) != 1) {
        addrinfo hints{};
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
            error = "cannot resolve host " + host + " of URL " + std::string{text};
            return std::nullopt;
        }
        std::memcpy(&url.addr.sin_addr, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr,
                    sizeof(in_addr));
        freeaddrinfo(found);
    }
    return url;
}
