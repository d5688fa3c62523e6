#include "echo_socket.hpp"

#include <libwebsockets.h>

namespace adashta::edge {

std::uint64_t EchoSockets::open(lws* /*wsi*/) {
    const std::uint64_t serial = next_serial_++;
    conns_[serial];
    return serial;
}

int EchoSockets::receive(std::uint64_t serial, lws* wsi, const char* in, std::size_t len) {
    auto it = conns_.find(serial);
    if (it == conns_.end()) return -1;
    Conn& c = it->second;
    if (lws_is_first_fragment(wsi) || c.rx.size() < LWS_PRE) {
        c.rx.assign(LWS_PRE, '\0');
        c.rx_binary = lws_frame_is_binary(wsi);
    }
    // What this frame's header announces counts at once: a frame too large is refused at its
    // first piece, not after max_message bytes of it.
    const std::size_t announced = c.rx.size() - LWS_PRE + len + lws_remaining_packet_payload(wsi);
    if (announced > max_message_) {
        static constexpr char kReason[] = "frame_too_large";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         reinterpret_cast<unsigned char*>(const_cast<char*>(kReason)),
                         sizeof kReason - 1);
        return -1;
    }
    c.rx.append(in, len);
    if (!lws_is_final_fragment(wsi)) return 0;
    c.out_bytes += c.rx.size() - LWS_PRE;
    c.out.push_back({std::move(c.rx), c.rx_binary});
    c.rx.clear();
    if (c.out_bytes > max_queued_ && !c.paused) {
        c.paused = true;
        lws_rx_flow_control(wsi, 0);
    }
    lws_callback_on_writable(wsi);
    return 0;
}

int EchoSockets::writeable(std::uint64_t serial, lws* wsi) {
    auto it = conns_.find(serial);
    if (it == conns_.end()) return -1;
    Conn& c = it->second;
    while (!c.out.empty()) {
        // lws keeps what the socket did not take and sends it before the next writeable.
        if (lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        Echo& echo = c.out.front();
        const std::size_t size = echo.bytes.size() - LWS_PRE;
        auto* payload = reinterpret_cast<unsigned char*>(echo.bytes.data()) + LWS_PRE;
        if (lws_write(wsi, payload, size, echo.binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) <
            static_cast<int>(size))
            return -1;
        c.out_bytes -= size;
        c.out.pop_front();
    }
    if (c.paused) {
        c.paused = false;
        lws_rx_flow_control(wsi, 1);
    }
    return 0;
}

void EchoSockets::closed(std::uint64_t serial) {
    conns_.erase(serial);
}

}  // namespace adashta::edge
