#include "ws_frames.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "ws_close_codes.hpp"

namespace adashta::edge::ws {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 1.3

bool is_control(Opcode opcode) {
    return (static_cast<std::uint8_t>(opcode) & 0x8) != 0;
}

bool is_known(std::uint8_t opcode) {
    return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

}  // namespace

std::string accept_key(std::string_view client_key) {
    std::string input{client_key};
    input += kGuid;
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    unsigned char text[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    const int size = EVP_EncodeBlock(text, digest, SHA_DIGEST_LENGTH);
    return std::string{reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

char* put_header(char* payload, Opcode opcode, std::size_t payload_size) {
    auto* p = reinterpret_cast<unsigned char*>(payload);
    const auto first = static_cast<unsigned char>(0x80 | static_cast<std::uint8_t>(opcode));
    if (payload_size < 126) {
        p -= 2;
        p[1] = static_cast<unsigned char>(payload_size);
    } else if (payload_size <= 0xffff) {
        p -= 4;
        p[1] = 126;
        p[2] = static_cast<unsigned char>(payload_size >> 8);
        p[3] = static_cast<unsigned char>(payload_size);
    } else {
        p -= 10;
        p[1] = 127;
        const auto size = static_cast<std::uint64_t>(payload_size);
        for (int i = 0; i < 8; ++i) p[2 + i] = static_cast<unsigned char>(size >> (56 - 8 * i));
    }
    p[0] = first;
    return reinterpret_cast<char*>(p);
}

void append_frame(std::string& out, Opcode opcode, std::string_view payload) {
    char header[kMaxServerHeader];
    char* start = put_header(header + sizeof header, opcode, payload.size());
    out.append(start, static_cast<std::size_t>(header + sizeof header - start));
    out.append(payload);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string out;
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xff));
    std::size_t size = std::min(reason.size(), kMaxControlPayload - 2);
    // Not in the middle of a character: back up over continuation bytes.
    while (size < reason.size() && size > 0 &&
           (static_cast<unsigned char>(reason[size]) & 0xc0) == 0x80)
        --size;
    out.append(reason.substr(0, size));
    return out;
}

// --- UTF-8 -------------------------------------------------------------------------------------

bool Utf8Check::feed(const unsigned char* bytes, std::size_t size) {
    if (failed_) return false;
    std::size_t i = 0;
    while (i < size) {
        if (need_ == 0) {
            // ASCII, eight bytes at a time: the usual case for JSON.
            while (i + 8 <= size) {
                std::uint64_t word;
                std::memcpy(&word, bytes + i, 8);
                if (word & 0x8080808080808080ULL) break;
                i += 8;
            }
            if (i == size) break;
            const unsigned char b = bytes[i++];
            if (b < 0x80) continue;
            low_ = 0x80;
            high_ = 0xbf;
            if (b < 0xc2) {
                failed_ = true;  // a continuation byte, or an overlong two-byte lead
            } else if (b < 0xe0) {
                need_ = 1;
            } else if (b < 0xf0) {
                need_ = 2;
                if (b == 0xe0) low_ = 0xa0;   // overlong
                if (b == 0xed) high_ = 0x9f;  // surrogates
            } else if (b < 0xf5) {
                need_ = 3;
                if (b == 0xf0) low_ = 0x90;   // overlong
                if (b == 0xf4) high_ = 0x8f;  // past U+10FFFF
            } else {
                failed_ = true;
            }
            if (failed_) return false;
            continue;
        }
        const unsigned char b = bytes[i++];
        if (b < low_ || b > high_) {
            failed_ = true;
            return false;
        }
        low_ = 0x80;
        high_ = 0xbf;
        --need_;
    }
    return true;
}

bool valid_utf8(std::string_view text) {
    Utf8Check check;
    return check.feed(reinterpret_cast<const unsigned char*>(text.data()), text.size()) &&
           check.complete();
}

// --- the decoder -------------------------------------------------------------------------------

std::uint16_t Decoder::fail(std::uint16_t code, const char* why) {
    failed_ = code;
    failure_ = why;
    message_ = {};
    return code;
}

void Decoder::unmask(char* data, std::size_t size) {
    // The key, turned so that its first byte is the one for data[0], eight bytes wide.
    unsigned char key[8];
    for (std::size_t i = 0; i < 8; ++i) key[i] = mask_[(mask_at_ + i) & 3];
    std::uint64_t wide;
    std::memcpy(&wide, key, 8);
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, data + i, 8);
        word ^= wide;
        std::memcpy(data + i, &word, 8);
    }
    for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ key[i & 7]);
    mask_at_ = (mask_at_ + size) & 3;
}

std::uint16_t Decoder::begin_frame() {
    const unsigned char b0 = header_[0];
    const unsigned char b1 = header_[1];
    fin_ = (b0 & 0x80) != 0;
    if (b0 & 0x70)
        return fail(close_code::protocol_error, "reserved bits set, no extension agreed");
    const std::uint8_t op = b0 & 0x0f;
    if (!is_known(op)) return fail(close_code::protocol_error, "unknown opcode");
    opcode_ = static_cast<Opcode>(op);
    if (!(b1 & 0x80)) return fail(close_code::protocol_error, "client frames must be masked");
    std::uint64_t size = b1 & 0x7f;
    std::size_t at = 2;
    if (size == 126) {
        size = (std::uint64_t{header_[2]} << 8) | header_[3];
        at = 4;
    } else if (size == 127) {
        size = 0;
        for (int i = 0; i < 8; ++i) size = (size << 8) | header_[2 + i];
        at = 10;
        if (size >> 63)
            return fail(close_code::protocol_error, "64-bit length with its top bit set");
    }
    std::memcpy(mask_, header_ + at, 4);
    mask_at_ = 0;
    payload_left_ = size;
    if (is_control(opcode_)) {
        if (!fin_) return fail(close_code::protocol_error, "fragmented control frame");
        if (size > kMaxControlPayload)
            return fail(close_code::protocol_error, "control frame over 125 bytes");
        control_size_ = 0;
        return 0;
    }
    if (opcode_ == Opcode::continuation) {
        if (!message_open_) return fail(close_code::protocol_error, "continuation with no message");
    } else {
        if (message_open_)
            return fail(close_code::protocol_error, "new message inside a fragmented one");
        message_open_ = true;
        message_binary_ = opcode_ == Opcode::binary;
        message_size_ = 0;
        utf8_.reset();
    }
    if (size > max_message_ - std::min<std::uint64_t>(message_size_, max_message_))
        return fail(close_code::too_large, "frame_too_large");
    return 0;
}

std::uint16_t Decoder::end_control(Events& events) {
    const std::string_view payload{reinterpret_cast<const char*>(control_), control_size_};
    switch (opcode_) {
        case Opcode::ping:
            events.on_ping(payload);
            return 0;
        case Opcode::pong:
            events.on_pong(payload);
            return 0;
        default:
            break;
    }
    // The close.
    if (payload.size() == 1) return fail(close_code::protocol_error, "close frame of one byte");
    std::uint16_t code = close_code::no_status;
    std::string_view reason;
    if (payload.size() >= 2) {
        code = static_cast<std::uint16_t>((control_[0] << 8) | control_[1]);
        if (!close_code_valid(code))
            return fail(close_code::protocol_error, "close code not allowed");
        reason = payload.substr(2);
        if (!valid_utf8(reason)) return fail(close_code::invalid_data, "close reason is not UTF-8");
    }
    closed_ = true;
    message_ = {};
    events.on_close(code, reason);
    return 0;
}

std::uint16_t Decoder::end_frame(Events& events) {
    in_payload_ = false;
    header_size_ = 0;
    if (is_control(opcode_)) return end_control(events);
    if (!fin_) return 0;
    if (!message_binary_ && !utf8_.complete())
        return fail(close_code::invalid_data, "text message ends inside a UTF-8 sequence");
    message_open_ = false;
    events.on_message(message_binary_, message_);
    // An idle connection keeps no large buffer.
    if (message_.capacity() > 4096)
        message_ = {};
    else
        message_.clear();
    return 0;
}

std::uint16_t Decoder::feed(char* data, std::size_t size, Events& events) {
    if (failed_) return failed_;
    std::size_t at = 0;
    while (at < size && !closed_) {
        if (!in_payload_) {
            // The header: 2 bytes, then the extended length and the mask key.
            if (header_size_ < 2) {
                header_[header_size_++] = static_cast<unsigned char>(data[at++]);
                if (header_size_ < 2) continue;
            }
            const unsigned char len7 = header_[1] & 0x7f;
            const std::size_t wanted = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
            const std::size_t take = std::min(wanted - header_size_, size - at);
            std::memcpy(header_ + header_size_, data + at, take);
            header_size_ += take;
            at += take;
            // The checks that need only the first two bytes come first (an unmasked frame
            // fails at once, not once four more bytes came).
            if (header_size_ < wanted && !(header_[1] & 0x80)) {
                header_size_ = wanted;
                std::memset(header_ + 2, 0, wanted - 2);
            }
            if (header_size_ < wanted) continue;
            if (const auto code = begin_frame()) return code;
            in_payload_ = true;
            if (payload_left_ == 0) {
                if (const auto code = end_frame(events)) return code;
                continue;
            }
        }
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, size - at));
        char* piece = data + at;
        unmask(piece, take);
        at += take;
        payload_left_ -= take;
        if (is_control(opcode_)) {
            std::memcpy(control_ + control_size_, piece, take);
            control_size_ += take;
        } else {
            if (!message_binary_ &&
                !utf8_.feed(reinterpret_cast<const unsigned char*>(piece), take))
                return fail(close_code::invalid_data, "text message is not UTF-8");
            message_size_ += take;
            // A whole message in this piece goes on as a view into it.
            if (payload_left_ == 0 && fin_ && message_.empty() && message_size_ == take) {
                in_payload_ = false;
                header_size_ = 0;
                if (!message_binary_ && !utf8_.complete())
                    return fail(close_code::invalid_data,
                                "text message ends inside a UTF-8 sequence");
                message_open_ = false;
                events.on_message(message_binary_, std::string_view{piece, take});
                continue;
            }
            message_.append(piece, take);
        }
        if (payload_left_ == 0)
            if (const auto code = end_frame(events)) return code;
    }
    return 0;
}

}  // namespace adashta::edge::ws
