#include "ws_frame.hpp"

#include <cstring>

namespace {

void apply_mask(char* data, std::size_t size, uint32_t mask) {
    uint8_t key[4];
    std::memcpy(key, &mask, 4);
    std::size_t i = 0;
    uint64_t wide = 0;
    std::memcpy(&wide, key, 4);
    std::memcpy(reinterpret_cast<char*>(&wide) + 4, key, 4);
    for (; i + 8 <= size; i += 8) {
        uint64_t chunk;
        std::memcpy(&chunk, data + i, 8);
        chunk ^= wide;
        std::memcpy(data + i, &chunk, 8);
    }
    for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ key[i & 3]);
}

}  // namespace

std::size_t client_frame_size(std::size_t payload_size) {
    std::size_t header = payload_size < 126 ? 2 : payload_size < 65536 ? 4 : 10;
    return header + 4 + payload_size;
}

void append_client_frame(std::string& out, uint8_t opcode, std::string_view payload,
                         uint32_t mask) {
    std::size_t at = out.size();
    out.resize(at + client_frame_size(payload.size()));
    auto* p = reinterpret_cast<uint8_t*>(out.data() + at);
    std::size_t n = payload.size();
    *p++ = static_cast<uint8_t>(0x80 | opcode);
    if (n < 126) {
        *p++ = static_cast<uint8_t>(0x80 | n);
    } else if (n < 65536) {
        *p++ = 0x80 | 126;
        *p++ = static_cast<uint8_t>(n >> 8);
        *p++ = static_cast<uint8_t>(n);
    } else {
        *p++ = 0x80 | 127;
        for (int i = 7; i >= 0; --i) *p++ = static_cast<uint8_t>(uint64_t{n} >> (i * 8));
    }
    std::memcpy(p, &mask, 4);
    p += 4;
    std::memcpy(p, payload.data(), n);
    apply_mask(reinterpret_cast<char*>(p), n, mask);
}

std::ptrdiff_t parse_server_frame(char* data, std::size_t size, WsFrame& frame,
                                  std::size_t max_payload) {
    if (size < 2) return 0;
    const auto* p = reinterpret_cast<const uint8_t*>(data);
    if (p[0] & 0x70) return -1;  // reserved bits: no extension was negotiated
    frame.fin = (p[0] & 0x80) != 0;
    frame.opcode = p[0] & 0x0F;
    bool masked = (p[1] & 0x80) != 0;
    uint64_t length = p[1] & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
        if (size < 4) return 0;
        length = (uint64_t{p[2]} << 8) | p[3];
        header = 4;
    } else if (length == 127) {
        if (size < 10) return 0;
        length = 0;
        for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
        header = 10;
    }
    if (length > max_payload) return -1;
    if (masked) header += 4;
    if (size < header + length) return 0;
    char* payload = data + header;
    if (masked) {
        uint32_t mask;
        std::memcpy(&mask, data + header - 4, 4);
        apply_mask(payload, static_cast<std::size_t>(length), mask);
    }
    frame.payload = std::string_view{payload, static_cast<std::size_t>(length)};
    return static_cast<std::ptrdiff_t>(header + length);
}
