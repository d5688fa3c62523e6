#include <catch2/catch.hpp>

#include "ws_close_codes.hpp"

using namespace adashta::edge;

TEST_CASE("close codes a peer may send pass, the others do not", "[ws_close_codes]") {
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999})
        CHECK(close_code_valid(static_cast<std::uint16_t>(code)));
    for (int code : {0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999,
                     5000, 65535})
        CHECK_FALSE(close_code_valid(static_cast<std::uint16_t>(code)));
}

TEST_CASE("a close payload is empty or starts with a valid code", "[ws_close_codes]") {
    const unsigned char normal[] = {0x03, 0xe8, 'o', 'k'};  // 1000 "ok"
    const unsigned char code5000[] = {0x13, 0x88};
    const unsigned char half[] = {0x03};
    CHECK(close_payload_valid(nullptr, 0));
    CHECK(close_payload_valid(normal, sizeof normal));
    CHECK_FALSE(close_payload_valid(code5000, sizeof code5000));
    CHECK_FALSE(close_payload_valid(half, sizeof half));
}
