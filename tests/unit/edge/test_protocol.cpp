#include <catch2/catch.hpp>

#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <string_view>

#include "adashta/json.hpp"
#include "adashta/names.hpp"
#include "protocol.hpp"

using adashta::Errc;
using adashta::edge::ClientFrame;
using adashta::edge::FrameError;
using adashta::edge::FrameType;
using adashta::edge::parse_client_frame;
namespace edge = adashta::edge;
namespace json = adashta::json;
using namespace std::string_view_literals;

namespace {

constexpr std::string_view kSession = "s-3e8d0c1a9b7f4c2d8e6a5b4c3d2e1f0a";

// The frame text must outlive the result: ClientFrame::data views into it.
ClientFrame accepted(std::string_view text) {
    INFO(text);
    auto parsed = parse_client_frame(text);
    if (const auto* bad = std::get_if<FrameError>(&parsed))
        FAIL("refused: " << bad->error.to_string());
    return std::get<ClientFrame>(parsed);
}

FrameError refused(std::string_view text) {
    INFO(text);
    auto parsed = parse_client_frame(text);
    if (std::holds_alternative<ClientFrame>(parsed)) FAIL("accepted");
    return std::get<FrameError>(parsed);
}

bool is_json_object(std::string_view text) {
    const auto start = text.find_first_not_of(" \t\r\n");
    return json::is_valid(text) && start != std::string_view::npos && text[start] == '{';
}

}  // namespace

// --- bad_json ---------------------------------------------------------------------------

TEST_CASE("a frame that is not an object is bad_json", "[protocol]") {
    const std::string text =
        GENERATE(as<std::string>{}, "[]", "1", "\"ping\"", "null", "true", R"([{"type":"ping"}])");
    const FrameError bad = refused(text);
    CHECK(bad.error.code == Errc::bad_json);
    CHECK_FALSE(bad.ref);
}

TEST_CASE("a frame that is not valid JSON is bad_json with the place it broke", "[protocol]") {
    const FrameError bad = refused(R"({"type":"ping","ref":1,})");
    CHECK(bad.error.code == Errc::bad_json);
    CHECK(bad.error.detail == "at byte 23: expected a string key");
    CHECK_FALSE(bad.ref);
}

TEST_CASE("an empty frame is bad_json", "[protocol]") {
    CHECK(refused("").error.code == Errc::bad_json);
    CHECK(refused("   ").error.code == Errc::bad_json);
}

TEST_CASE("a frame with invalid UTF-8 in a nested value is bad_json", "[protocol]") {
    CHECK(refused("{\"type\":\"produce\",\"queue\":\"q\",\"data\":[\"\xC0\xAF\"]}").error.code ==
          Errc::bad_json);
}

TEST_CASE("a frame with trailing garbage is bad_json", "[protocol]") {
    CHECK(refused(R"({"type":"ping"} {"type":"ping"})").error.code == Errc::bad_json);
}

// --- type ---------------------------------------------------------------------------------

TEST_CASE("a frame without type is bad_frame and keeps its ref", "[protocol]") {
    const FrameError bad = refused(R"({"ref":3})");
    CHECK(bad.error.code == Errc::bad_frame);
    CHECK(bad.error.detail == "\"type\" is missing");
    CHECK(bad.ref == 3u);
}

TEST_CASE("a type that is not a string is bad_frame", "[protocol]") {
    const std::string text =
        GENERATE(as<std::string>{}, R"({"type":1,"ref":4})", R"({"type":null,"ref":4})",
                 R"({"type":["ping"],"ref":4})", R"({"type":{},"ref":4})");
    const FrameError bad = refused(text);
    CHECK(bad.error.code == Errc::bad_frame);
    CHECK(bad.error.detail == "\"type\" must be a string");
    CHECK(bad.ref == 4u);
}

TEST_CASE("an unknown type is unknown_type and keeps its ref", "[protocol]") {
    const FrameError bad = refused(R"({"type":"publish","ref":5})");
    CHECK(bad.error.code == Errc::unknown_type);
    CHECK(bad.error.detail == "\"type\" is \"publish\"");
    CHECK(bad.ref == 5u);
}

TEST_CASE("type names are case-sensitive", "[protocol]") {
    CHECK(refused(R"({"type":"PING"})").error.code == Errc::unknown_type);
    CHECK(refused(R"({"type":""})").error.code == Errc::unknown_type);
}

TEST_CASE("a long unknown type is echoed only in part", "[protocol]") {
    const std::string text = R"({"type":")" + std::string(10000, 'x') + R"("})";
    const FrameError bad = refused(text);
    CHECK(bad.error.code == Errc::unknown_type);
    CHECK(bad.error.detail.size() < 100);
}

TEST_CASE("an echoed type is never cut inside a UTF-8 character", "[protocol]") {
    std::string type;
    for (int i = 0; i < 40; ++i) type += "\xC3\xA9";  // 80 bytes of two-byte characters
    const std::string text = R"({"type":")" + std::string("x") + type + R"("})";
    const FrameError bad = refused(text);
    CHECK(json::unquote(json::quote(bad.error.detail)) == bad.error.detail);  // still valid UTF-8
    CHECK(bad.error.detail.find("\xEF\xBF\xBD") == std::string::npos);
}

TEST_CASE("a type written with escapes is read unescaped", "[protocol]") {
    CHECK(accepted(R"({"type":"p\u0069ng"})").type == FrameType::ping);
}

// --- ref ----------------------------------------------------------------------------------

TEST_CASE("a frame without ref has no ref", "[protocol]") {
    CHECK_FALSE(accepted(R"({"type":"ping"})").ref);
}

TEST_CASE("ref accepts every non-negative integer that fits 64 bits", "[protocol]") {
    CHECK(accepted(R"({"type":"ping","ref":0})").ref == 0u);
    CHECK(accepted(R"({"type":"ping","ref":-0})").ref == 0u);
    CHECK(accepted(R"({"type":"ping","ref":42})").ref == 42u);
    CHECK(accepted(R"({"type":"ping","ref":18446744073709551615})").ref == UINT64_MAX);
}

TEST_CASE("a ref that is not a non-negative integer is bad_frame without a ref", "[protocol]") {
    const std::string ref =
        GENERATE(as<std::string>{}, "-1", "1.5", "1.0", "1e3", "\"7\"", "null", "true", "[7]", "{}",
                 "18446744073709551616", "-9223372036854775809");
    const std::string text = R"({"type":"ping","ref":)" + ref + "}";
    const FrameError bad = refused(text);
    CHECK(bad.error.code == Errc::bad_frame);
    CHECK(bad.error.detail == "\"ref\" must be a non-negative integer");
    CHECK_FALSE(bad.ref);
}

TEST_CASE("a bad ref is reported before an unknown type", "[protocol]") {
    const FrameError bad = refused(R"({"type":"nope","ref":-1})");
    CHECK(bad.error.code == Errc::bad_frame);
}

// --- hello --------------------------------------------------------------------------------

TEST_CASE("hello without session asks for a new session", "[protocol]") {
    const ClientFrame frame = accepted(R"({"type":"hello"})");
    CHECK(frame.type == FrameType::hello);
    CHECK(frame.session.empty());
}

TEST_CASE("hello with a null session asks for a new session", "[protocol]") {
    CHECK(accepted(R"({"type":"hello","session":null})").session.empty());
}

TEST_CASE("hello with a valid session resumes it", "[protocol]") {
    const std::string text = R"({"type":"hello","session":")" + std::string(kSession) + R"("})";
    CHECK(accepted(text).session == kSession);
}

TEST_CASE("hello with a malformed session is bad_session and keeps its ref", "[protocol]") {
    const std::string session =
        GENERATE(as<std::string>{}, R"("")", R"("s-short")", R"("x-3e8d0c1a9b7f")",
                 R"("s-3e8d0c1a 9b7f")", R"("s-3e8d0c1a9b7f\u0000")", "1", "true", "{}",
                 "[\"s-3e8d0c1a9b7f\"]", "\"s-" + std::string(65, 'a') + "\"");
    const std::string text = R"({"type":"hello","ref":1,"session":)" + session + "}";
    const FrameError bad = refused(text);
    CHECK(bad.error.code == Errc::bad_session);
    CHECK(bad.ref == 1u);
}

// --- produce ------------------------------------------------------------------------------

TEST_CASE("produce reads ref, queue and the raw data", "[protocol]") {
    const std::string text =
        R"({"type":"produce","ref":7,"queue":"orders","data":{"sku":"A-1","n":2}})";
    const ClientFrame frame = accepted(text);
    CHECK(frame.type == FrameType::produce);
    CHECK(frame.ref == 7u);
    CHECK(frame.queue == "orders");
    CHECK(frame.data == R"({"sku":"A-1","n":2})");
    CHECK(frame.data.data() >= text.data());
    CHECK(frame.data.data() + frame.data.size() <= text.data() + text.size());
}

TEST_CASE("produce accepts any JSON value as data, null included", "[protocol]") {
    const std::string data = GENERATE(as<std::string>{}, "null", "0", "-1.5e3", "\"text\"", "true",
                                      "[]", "{}", R"([1,{"a":[null]}])");
    const std::string text = R"({"type":"produce","queue":"q","data":)" + data + "}";
    CHECK(accepted(text).data == data);
}

TEST_CASE("produce without data is bad_frame", "[protocol]") {
    const FrameError bad = refused(R"({"type":"produce","ref":2,"queue":"q"})");
    CHECK(bad.error.code == Errc::bad_frame);
    CHECK(bad.error.detail == "\"data\" is missing");
    CHECK(bad.ref == 2u);
}

TEST_CASE("produce without queue is bad_frame", "[protocol]") {
    const FrameError bad = refused(R"({"type":"produce","ref":2,"data":1})");
    CHECK(bad.error.code == Errc::bad_frame);
    CHECK(bad.error.detail == "\"queue\" is missing");
    CHECK(bad.ref == 2u);
}

TEST_CASE("a queue that is not a string is bad_frame", "[protocol]") {
    const std::string queue = GENERATE(as<std::string>{}, "1", "null", "[\"q\"]", "{}", "false");
    const std::string text = R"({"type":"produce","ref":3,"data":1,"queue":)" + queue + "}";
    const FrameError bad = refused(text);
    CHECK(bad.error.code == Errc::bad_frame);
    CHECK(bad.error.detail == "\"queue\" must be a string");
    CHECK(bad.ref == 3u);
}

TEST_CASE("a queue name that breaks the naming rules is bad_queue", "[protocol]") {
    const std::string queue = GENERATE(as<std::string>{}, "", "a b", "caf\xC3\xA9", "q\\u0000",
                                       "q\\n", "q#", std::string(129, 'q'));
    const std::string text = R"({"type":"produce","ref":4,"data":1,"queue":")" + queue + R"("})";
    const FrameError bad = refused(text);
    CHECK(bad.error.code == Errc::bad_queue);
    CHECK(bad.ref == 4u);
}

TEST_CASE("queue names use the whole allowed alphabet up to 128 characters", "[protocol]") {
    const std::string name = "Az09._:/-";
    CHECK(accepted(R"({"type":"consume","queue":")" + name + R"("})").queue == name);
    const std::string longest(128, 'q');
    CHECK(accepted(R"({"type":"consume","queue":")" + longest + R"("})").queue == longest);
}

TEST_CASE("a queue name written with escapes is checked unescaped", "[protocol]") {
    CHECK(accepted(R"({"type":"consume","queue":"a\/b"})").queue == "a/b");
}

// --- consume, unconsume, ping -------------------------------------------------------------

TEST_CASE("consume and unconsume read ref and queue", "[protocol]") {
    const ClientFrame consume = accepted(R"({"type":"consume","ref":8,"queue":"chat"})");
    CHECK(consume.type == FrameType::consume);
    CHECK(consume.ref == 8u);
    CHECK(consume.queue == "chat");
    const ClientFrame unconsume = accepted(R"({"type":"unconsume","ref":9,"queue":"chat"})");
    CHECK(unconsume.type == FrameType::unconsume);
    CHECK(unconsume.ref == 9u);
    CHECK(unconsume.queue == "chat");
}

TEST_CASE("consume and unconsume without queue are bad_frame", "[protocol]") {
    const std::string type = GENERATE(as<std::string>{}, "consume", "unconsume");
    const FrameError bad = refused(R"({"type":")" + type + R"(","ref":6})");
    CHECK(bad.error.code == Errc::bad_frame);
    CHECK(bad.ref == 6u);
}

TEST_CASE("consume with a bad queue name is bad_queue", "[protocol]") {
    CHECK(refused(R"({"type":"consume","queue":"no spaces"})").error.code == Errc::bad_queue);
}

TEST_CASE("ping reads its ref", "[protocol]") {
    const ClientFrame frame = accepted(R"({"type":"ping","ref":11})");
    CHECK(frame.type == FrameType::ping);
    CHECK(frame.ref == 11u);
}

TEST_CASE("members a frame type does not use are ignored", "[protocol]") {
    const ClientFrame frame =
        accepted(R"({"future":[1,2],"type":"ping","queue":"bad name","session":5})");
    CHECK(frame.type == FrameType::ping);
    CHECK(frame.queue.empty());
}

TEST_CASE("whitespace around and inside a frame is allowed", "[protocol]") {
    const ClientFrame frame = accepted(" \r\n{ \"type\" : \"consume\" ,\t\"queue\" : \"q\" }\n");
    CHECK(frame.type == FrameType::consume);
    CHECK(frame.queue == "q");
}

// --- encoders -----------------------------------------------------------------------------

TEST_CASE("welcome carries session, resumed, maxFrame and server", "[protocol]") {
    std::string out;
    edge::encode_welcome(out, kSession, false, 1048576);
    CHECK(out == R"({"type":"welcome","session":")" + std::string(kSession) +
                     R"(","resumed":false,"maxFrame":1048576,"server":"adashta/0.1.0"})");
    out.clear();
    edge::encode_welcome(out, kSession, true, 0);
    auto obj = json::ObjectView::parse(out);
    REQUIRE(obj);
    CHECK(obj->boolean("resumed") == true);
    CHECK(obj->integer("maxFrame") == 0);
}

TEST_CASE("ack carries the ref and the message id only when there is one", "[protocol]") {
    std::string out;
    edge::encode_ack(out, 7, "01JD3ZQ4X8K2M5N7P9R1S3T5V7");
    CHECK(out == R"({"type":"ack","ref":7,"id":"01JD3ZQ4X8K2M5N7P9R1S3T5V7"})");
    out.clear();
    edge::encode_ack(out, UINT64_MAX);
    CHECK(out == R"({"type":"ack","ref":18446744073709551615})");
}

TEST_CASE("error matches the documented example", "[protocol]") {
    std::string out;
    edge::encode_error(out, 9, Errc::no_consumer);
    CHECK(out == R"({"type":"error","ref":9,"code":4104,"name":"no_consumer",)"
                 R"("message":"no server node consumes this queue",)"
                 R"("hint":"start a server node that consumes the queue, then produce again"})");
}

TEST_CASE("error leaves out ref when there is none and adds detail when there is one",
          "[protocol]") {
    std::string out;
    edge::encode_error(out, std::nullopt, Errc::bad_json, "at byte 3: expected ':'");
    auto obj = json::ObjectView::parse(out);
    REQUIRE(obj);
    CHECK_FALSE(obj->has("ref"));
    CHECK(obj->integer("code") == 4000);
    CHECK(obj->string("name") == "bad_json");
    CHECK(obj->string("detail") == "at byte 3: expected ':'");
    CHECK(out.find(R"("detail")") > out.find(R"("hint")"));
}

TEST_CASE("error escapes catalogue texts that contain quotes", "[protocol]") {
    std::string out;
    edge::encode_error(out, 1, Errc::hello_required, "a \"quoted\"\nline");
    auto obj = json::ObjectView::parse(out);
    REQUIRE(obj);
    CHECK(obj->string("hint") == adashta::error_info(Errc::hello_required).hint);
    CHECK(obj->string("detail") == "a \"quoted\"\nline");
}

TEST_CASE("every catalogue error encodes as a valid frame", "[protocol]") {
    for (Errc code :
         {Errc::bad_json, Errc::bad_frame, Errc::unknown_type, Errc::hello_required,
          Errc::bad_queue, Errc::bad_session, Errc::hello_timeout, Errc::frame_too_large,
          Errc::binary_unsupported, Errc::no_consumer, Errc::node_unavailable}) {
        std::string out;
        edge::encode_error(out, 1, code, "detail");
        INFO(out);
        auto obj = json::ObjectView::parse(out);
        REQUIRE(obj);
        CHECK(obj->integer("code") == static_cast<int>(code));
        CHECK(obj->string("name") == adashta::error_info(code).name);
        CHECK(obj->string("message") == adashta::error_info(code).message);
    }
}

TEST_CASE("message splices data raw and quotes queue and id", "[protocol]") {
    std::string out;
    edge::encode_message(out, "chat", "01JD3ZQ4X8K2M5N7P9R1S3T5V8", R"({"text":"hi"})",
                         1732350000000);
    CHECK(out == R"({"type":"message","queue":"chat","id":"01JD3ZQ4X8K2M5N7P9R1S3T5V8",)"
                 R"("data":{"text":"hi"},"ts":1732350000000})");
}

TEST_CASE("message keeps data null and other scalar data as given", "[protocol]") {
    std::string out;
    edge::encode_message(out, "q", "id", "null", 0);
    auto obj = json::ObjectView::parse(out);
    REQUIRE(obj);
    CHECK(obj->raw("data") == "null");
    CHECK(obj->integer("ts") == 0);
}

TEST_CASE("pong echoes the ref", "[protocol]") {
    std::string out;
    edge::encode_pong(out, 11);
    CHECK(out == R"({"type":"pong","ref":11})");
}

TEST_CASE("encoders append instead of replacing", "[protocol]") {
    std::string out = "x";
    edge::encode_pong(out, 1);
    CHECK(out == R"(x{"type":"pong","ref":1})");
}

TEST_CASE("a produced frame's data round-trips into a message frame", "[protocol]") {
    const std::string text =
        R"({"type":"produce","ref":1,"queue":"q","data":{"a":"\u00e9\n","b":[1,2.5e-3]}})";
    const ClientFrame frame = accepted(text);
    std::string out;
    edge::encode_message(out, frame.queue, "id", frame.data, 5);
    auto obj = json::ObjectView::parse(out);
    REQUIRE(obj);
    CHECK(obj->raw("data") == frame.data);
}

// --- robustness ---------------------------------------------------------------------------

TEST_CASE("byte-wise mutated frames never crash and are bad_json exactly when not a JSON object",
          "[protocol][robustness]") {
    const std::string seeds[] = {
        R"({"type":"hello","session":"s-3e8d0c1a9b7f4c2d8e6a5b4c3d2e1f0a"})",
        R"({"type":"hello","session":null,"ref":0})",
        R"({"type":"produce","ref":7,"queue":"orders","data":{"sku":"A-1","n":[2,-0.5e+3,true,null]}})",
        R"({"type":"produce","ref":8,"queue":"q","data":"caf\u00e9 \ud83d\ude00 \"x\" é"})",
        R"({"type":"consume","ref":1,"queue":"chat.room/1"})",
        R"({"type":"unconsume","ref":2,"queue":"chat"})",
        R"( { "type" : "ping" , "ref" : 123456789 } )",
    };
    // Bytes that change JSON structure are far likelier to make interesting mutants.
    static constexpr std::string_view kInteresting =
        "{}[]\":,\\-+.0123456789eEu \t\nabtfnrl\x00\x1F\x7F\x80\xBF\xC0\xC3\xE2\xED\xF0\xF4\xFF"sv;
    std::mt19937 rng(20240501);  // fixed seed: a failure reproduces
    const auto pick = [&rng](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };

    int objects = 0;
    int accepted_frames = 0;
    int refused_objects = 0;  // valid JSON objects refused for their fields
    for (int i = 0; i < 20000; ++i) {
        std::string text = seeds[pick(std::size(seeds))];
        const std::size_t mutations = 1 + pick(4);
        for (std::size_t m = 0; m < mutations && !text.empty(); ++m) {
            const std::size_t at = pick(text.size());
            const char byte =
                pick(2) ? kInteresting[pick(kInteresting.size())] : static_cast<char>(pick(256));
            switch (pick(5)) {
                case 0:
                    text[at] = byte;
                    break;
                case 1:
                    text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), byte);
                    break;
                case 2:
                    text.erase(at, 1);
                    break;
                case 3:
                    text.resize(at);
                    break;
                default:
                    text.insert(at, text.substr(pick(text.size()), pick(8)));
                    break;
            }
        }
        auto parsed = parse_client_frame(text);
        const bool object = is_json_object(text);
        INFO("mutant " << i << ": " << text);
        if (const auto* bad = std::get_if<FrameError>(&parsed)) {
            REQUIRE((bad->error.code == Errc::bad_json) == !object);
            std::string out;
            edge::encode_error(out, bad->ref, bad->error.code, bad->error.detail);
            REQUIRE(json::is_valid(out));
        } else {
            REQUIRE(object);
            const auto& frame = std::get<ClientFrame>(parsed);
            if (frame.type == FrameType::produce) REQUIRE(json::is_valid(frame.data));
            if (!frame.queue.empty()) REQUIRE(adashta::is_valid_queue_name(frame.queue));
            if (!frame.session.empty()) REQUIRE(adashta::is_valid_session_id(frame.session));
        }
        objects += object ? 1 : 0;
        accepted_frames += std::holds_alternative<ClientFrame>(parsed) ? 1 : 0;
    }
    refused_objects = objects - accepted_frames;
    // The mutants must reach past the JSON check, on both sides of the field rules.
    CHECK(accepted_frames > 500);
    CHECK(refused_objects > 500);
}

TEST_CASE("a produce may carry the client's own message id, checked", "[protocol]") {
    using namespace adashta::edge;
    auto ok = parse_client_frame(
        R"({"type":"produce","ref":1,"queue":"q","data":1,"id":"c-abcdEFGH_1-"})");
    REQUIRE(std::holds_alternative<ClientFrame>(ok));
    CHECK(std::get<ClientFrame>(ok).id == "c-abcdEFGH_1-");
    for (const char* bad :
         {R"({"type":"produce","ref":1,"queue":"q","data":1,"id":"short"})",
          R"({"type":"produce","ref":1,"queue":"q","data":1,"id":"has space in it"})",
          R"({"type":"produce","ref":1,"queue":"q","data":1,"id":42})"}) {
        auto parsed = parse_client_frame(bad);
        REQUIRE(std::holds_alternative<FrameError>(parsed));
        CHECK(std::get<FrameError>(parsed).error.code == adashta::Errc::bad_frame);
    }
}
