#include "echo_socket.hpp"

#include <libwebsockets.h>

namespace adashta::edge {

std::uint64_t EchoSockets::open(ClientSocket& /*socket*/) {
    const std::uint64_t serial = next_serial_++;
    conns_[serial];
    return serial;
}

void EchoSockets::receive(std::uint64_t serial, ClientSocket& socket, bool binary,
                          std::string_view message) {
    auto it = conns_.find(serial);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    std::string bytes(LWS_PRE, '\0');
    bytes += message;
    c.out_bytes += message.size();
    c.out.push_back({std::move(bytes), binary});
    if (c.out_bytes > max_queued_ && !c.paused) {
        c.paused = true;
        socket.pause_reading(true);
    }
    socket.request_writeable();
}

bool EchoSockets::writeable(std::uint64_t serial, ClientSocket& socket) {
    auto it = conns_.find(serial);
    if (it == conns_.end()) return true;
    Conn& c = it->second;
    while (!c.out.empty()) {
        // lws keeps what the socket did not take and sends it before the next writeable.
        if (socket.choked()) {
            socket.request_writeable();
            return false;
        }
        Echo& echo = c.out.front();
        if (!socket.write_message(echo.bytes, echo.binary ? ws::Opcode::binary : ws::Opcode::text))
            return true;
        c.out_bytes -= echo.bytes.size() - LWS_PRE;
        c.out.pop_front();
    }
    if (c.paused) {
        c.paused = false;
        socket.pause_reading(false);
    }
    return true;
}

void EchoSockets::closed(std::uint64_t serial) {
    conns_.erase(serial);
}

}  // namespace adashta::edge
