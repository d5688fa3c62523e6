#include "port_check.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace adashta::cli {
namespace {

// Binds a socket to address the way libwebsockets and ZeroMQ do (SO_REUSEADDR, so a port
// whose last connection is in TIME_WAIT counts as free) and closes it again: 0, or errno.
int try_bind(const sockaddr_in& address) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;  // no socket to test with; let the edge try
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    const int error = rc == 0 ? 0 : errno;
    ::close(fd);
    return error;
}

}  // namespace

Status check_port_free(const Args& args, std::string_view flag, const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return {};
    const std::string host = address.substr(0, colon);
    const std::string_view port_text = std::string_view{address}.substr(colon + 1);
    int port = 0;
    const char* text_end = port_text.data() + port_text.size();
    const auto [end, ec] = std::from_chars(port_text.data(), text_end, port);
    if (ec != std::errc{} || end != text_end || port <= 0 || port > 65535)
        return {};
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_port = htons(static_cast<std::uint16_t>(port));
    if (host.empty() || host == "0.0.0.0" || host == "*")
        where.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host.c_str(), &where.sin_addr) != 1)
        return {};
    const int error = try_bind(where);
    if (error == 0) return {};

    const std::string named = args.origin(flag) + " " + address;
    const Flag* row = nullptr;
    for (const Flag& f : args.known)
        if (f.name == flag) row = &f;
    std::string other = "pick another with --" + std::string{flag} + " HOST:PORT";
    if (row && !env_variable(*row).empty()) other += " (or " + env_variable(*row) + ")";
    switch (error) {
        case EADDRINUSE:
            return make_error(Errc::bind_failed,
                              named + ": port in use; " + other +
                                  ", or stop the process that holds it (ss -ltnp shows which)");
        case EACCES:
            return make_error(Errc::bind_failed,
                              named + ": permission denied (ports below 1024 need root or "
                                      "CAP_NET_BIND_SERVICE); " + other);
        case EADDRNOTAVAIL:
            return make_error(Errc::bind_failed,
                              named + ": no network interface here has the address " + host +
                                  "; " + other + ", or 0.0.0.0 for every interface");
        default:
            return make_error(Errc::bind_failed,
                              named + ": cannot listen (" + std::strerror(error) + "); " + other);
    }
}

}  // namespace adashta::cli
