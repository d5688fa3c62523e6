#include <catch2/catch.hpp>

#include <string>

#include "http_request.hpp"

using namespace adashta::edge;

namespace {

// Feeds text in pieces of `piece` bytes (0: at once); returns the bytes taken.
std::size_t feed(HttpRequestParser& parser, const std::string& text, std::size_t piece = 0) {
    if (piece == 0) piece = text.size();
    std::size_t taken = 0;
    for (std::size_t at = 0; at < text.size() && !parser.done() && !parser.failed(); at += piece)
        taken += parser.feed(text.data() + at, std::min(piece, text.size() - at));
    return taken;
}

}  // namespace

TEST_CASE("a request head is parsed in one piece or a byte at a time", "[http_request]") {
    const std::string head =
        "GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n"
        "Connection: keep-alive, Upgrade\r\nsec-websocket-key:  abc  \r\n\r\n";
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
        HttpRequestParser parser;
        CHECK(feed(parser, head + "NEXT", piece) == head.size());
        REQUIRE(parser.done());
        const HttpRequest& r = parser.request();
        CHECK(r.method == "GET");
        CHECK(r.target == "/ws?x=1");
        CHECK(r.path() == "/ws");
        CHECK(r.minor == 1);
        REQUIRE(r.header("SEC-WEBSOCKET-KEY"));
        CHECK(*r.header("Sec-WebSocket-Key") == "abc");
        CHECK(r.header("Origin") == nullptr);
        CHECK(r.wants_websocket());
        CHECK(r.keep_alive());
    }
}

TEST_CASE("keep-alive follows the version and Connection", "[http_request]") {
    auto parse = [](const std::string& head) {
        HttpRequestParser parser;
        feed(parser, head);
        REQUIRE(parser.done());
        return parser.request();
    };
    CHECK(parse("GET / HTTP/1.1\r\n\r\n").keep_alive());
    CHECK_FALSE(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive());
    CHECK_FALSE(parse("GET / HTTP/1.0\r\n\r\n").keep_alive());
    CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
    CHECK(parse("GET / HTTP/1.1\n\n").keep_alive());  // bare line feeds are taken
}

TEST_CASE("a target of kMaxRequestUri bytes gets 414, decided before the line ends",
          "[http_request]") {
    HttpRequestParser whole;
    feed(whole, "GET /" + std::string(kMaxRequestUri, 'a') + " HTTP/1.1\r\n\r\n");
    CHECK(whole.failed());
    CHECK(whole.error_status() == 414);
    // 100 KB of request line with no end: refused once the limit passes, not at its end.
    HttpRequestParser endless;
    const std::string line = "GET /" + std::string(100 * 1024, 'a');
    const std::size_t taken = feed(endless, line, 512);
    CHECK(endless.failed());
    CHECK(endless.error_status() == 414);
    CHECK(taken < 4 * 1024);
    HttpRequestParser fits;
    feed(fits, "GET /" + std::string(kMaxRequestUri - 2, 'a') + " HTTP/1.1\r\n\r\n");
    CHECK(fits.done());
}

TEST_CASE("headers past max_header_bytes get 431", "[http_request]") {
    std::string head = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 200; ++i)
        head += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'b') + "\r\n";
    HttpRequestParser parser{{.max_header_bytes = 4096}};
    const std::size_t taken = feed(parser, head + "\r\n", 1000);
    CHECK(parser.failed());
    CHECK(parser.error_status() == 431);
    CHECK(taken < 8 * 1024);
}

TEST_CASE("malformed heads get 400, other versions 505", "[http_request]") {
    for (const char* head : {"GET\r\n\r\n", "GET / HTTP/1.1 extra\r\n\r\n",
                             "G(T / HTTP/1.1\r\n\r\n",
                             "GET / HTTQ/1.1\r\n\r\n", "GET http://x/ HTTP/1.1\r\n\r\n",
                             "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
                             "GET / HTTP/1.1\r\nBad name: x\r\n\r\n",
                             "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
                             "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n"}) {
        INFO(head);
        HttpRequestParser parser;
        feed(parser, head);
        CHECK(parser.failed());
        CHECK(parser.error_status() == 400);
        CHECK_FALSE(parser.error_detail().empty());
    }
    HttpRequestParser two;
    feed(two, "GET / HTTP/2.0\r\n\r\n");
    CHECK(two.error_status() == 505);
}

TEST_CASE("reset() takes the next request of a kept-alive connection", "[http_request]") {
    HttpRequestParser parser;
    const std::string two = "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n";
    const std::size_t first = parser.feed(two.data(), two.size());
    REQUIRE(parser.done());
    CHECK(parser.request().target == "/a");
    parser.reset();
    parser.feed(two.data() + first, two.size() - first);
    REQUIRE(parser.done());
    CHECK(parser.request().method == "HEAD");
    CHECK(parser.request().target == "/b");
}

TEST_CASE("empty lines before the request line are skipped, but not without bound",
          "[http_request]") {
    HttpRequestParser parser;
    feed(parser, "\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    CHECK(parser.done());
    HttpRequestParser endless;
    std::string blank;
    for (int i = 0; i < 5000; ++i) blank += "\r\n";
    feed(endless, blank);
    CHECK(endless.failed());
}

namespace {

// Feeds text in pieces, asking for a body of at most max_body once the head is in, as
// ClientSocket does for the plugin routes; returns the bytes taken.
std::size_t feed_with_body(HttpRequestParser& parser, const std::string& text, std::size_t max_body,
                           std::size_t piece = 0) {
    if (piece == 0) piece = text.size();
    std::size_t taken = 0;
    std::size_t at = 0;
    while (at < text.size() && !parser.failed()) {
        const std::size_t used = parser.feed(text.data() + at, std::min(piece, text.size() - at));
        taken += used;
        at += used;
        if (parser.done() && !parser.body_asked()) parser.read_body(max_body);
        if (parser.done()) break;
    }
    return taken;
}

}  // namespace

TEST_CASE("a Content-Length body is read whole before the request is done, in any pieces",
          "[http_request]") {
    const std::string body = R"({"text":"hello, route"})";
    const std::string request = "POST /plugins/p/echo HTTP/1.1\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body;
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{5}}) {
        HttpRequestParser parser;
        CHECK(feed_with_body(parser, request + "GET / HTTP/1.1\r\n\r\n", 1024, piece) == request.size());
        REQUIRE(parser.done());
        CHECK(parser.request().method == "POST");
        CHECK(parser.request().body == body);
        parser.reset();
        CHECK_FALSE(parser.body_asked());
        CHECK(parser.request().body.empty());
    }
}

TEST_CASE("a request without a body is done at once when its body is asked for", "[http_request]") {
    for (const std::string& head : {std::string{"GET /plugins/p/ HTTP/1.1\r\n\r\n"},
                                    std::string{"DELETE /plugins/p/x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"}}) {
        HttpRequestParser parser;
        CHECK(feed_with_body(parser, head, 1024) == head.size());
        CHECK(parser.done());
        CHECK(parser.request().body.empty());
    }
}

TEST_CASE("a body over the cap gets 413 naming it, chunked gets 411, a bad length 400",
          "[http_request]") {
    const auto status_of = [](const std::string& head, std::string* detail = nullptr) {
        HttpRequestParser parser;
        feed_with_body(parser, head, 1u << 20);
        REQUIRE(parser.failed());
        if (detail) *detail = parser.error_detail();
        return parser.error_status();
    };
    std::string detail;
    CHECK(status_of("POST /p HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", &detail) == 413);
    CHECK(detail.find("1048576 bytes") != std::string::npos);
    CHECK(status_of("POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &detail) == 411);
    CHECK(detail.find("Content-Length") != std::string::npos);
    CHECK(status_of("POST /p HTTP/1.1\r\nContent-Length: ten\r\n\r\n") == 400);
    CHECK(status_of("POST /p HTTP/1.1\r\nContent-Length: -1\r\n\r\n") == 400);
    CHECK(status_of("POST /p HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n") == 400);
    CHECK(status_of("POST /p HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 400);
}

TEST_CASE("without read_body a request's body is not read", "[http_request]") {
    HttpRequestParser parser;
    const std::string head = "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
    CHECK(feed(parser, head + "abc") == head.size());
    CHECK(parser.done());
    CHECK(parser.request().body.empty());
}
