#include "ws_handshake.hpp"

#include <algorithm>
#include <cctype>

#include "sha1.hpp"

namespace {

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t max_head_bytes = 16 * 1024;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::string make_ws_key(uint64_t seed) {
    uint8_t bytes[16];
    for (int i = 0; i < 16; ++i) {
        seed += 0x9E3779B97F4A7C15ull;  // splitmix64
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        bytes[i] = static_cast<uint8_t>(z ^ (z >> 31));
    }
    return base64(bytes, sizeof bytes);
}

std::string upgrade_request(const Url& url, std::string_view key) {
    std::string out = "GET " + url.path + " HTTP/1.1\r\nHost: " + url.host + ":" +
                      std::to_string(url.port) +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
    out += key;
    out += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    return out;
}

UpgradeAnswer read_upgrade_answer(std::string_view input, std::string_view key) {
    UpgradeAnswer answer;
    std::size_t end = input.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (input.size() > max_head_bytes) {
            answer.status = UpgradeAnswer::refused;
            answer.reason = "HTTP answer head larger than 16 KiB";
        }
        return answer;
    }
    answer.header_bytes = end + 4;
    std::string_view head = input.substr(0, end);
    std::size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.substr(0, 12) != "HTTP/1.1 101") {
        answer.status = UpgradeAnswer::refused;
        answer.reason = "server answered \"" + std::string{status_line} +
                        "\" instead of 101 Switching Protocols (check the URL path)";
        return answer;
    }
    std::string expected;
    {
        auto digest = sha1(std::string{key} + std::string{websocket_guid});
        expected = base64(digest.data(), digest.size());
    }
    std::size_t pos = line_end;
    while (pos != std::string_view::npos && pos < head.size()) {
        pos += 2;
        std::size_t next = head.find("\r\n", pos);
        std::string_view line =
            head.substr(pos, next == std::string_view::npos ? head.npos : next - pos);
        std::size_t colon = line.find(':');
        if (colon != std::string_view::npos &&
            iequals(trim(line.substr(0, colon)), "Sec-WebSocket-Accept")) {
            if (trim(line.substr(colon + 1)) == expected) {
                answer.status = UpgradeAnswer::accepted;
            } else {
                answer.status = UpgradeAnswer::refused;
                answer.reason = "wrong Sec-WebSocket-Accept from server";
            }
            return answer;
        }
        pos = next;
    }
    answer.status = UpgradeAnswer::refused;
    answer.reason = "101 answer without Sec-WebSocket-Accept";
    return answer;
}
