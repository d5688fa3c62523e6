#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "adashta/mesh/codec.hpp"

using namespace adashta::mesh;
using adashta::wire::Body;

namespace {

std::vector<std::uint8_t> bytes_of(const flatbuffers::FlatBufferBuilder& fbb) {
    return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

std::vector<std::uint8_t> a_deliver() {
    flatbuffers::FlatBufferBuilder fbb;
    encode_deliver(fbb, {.id = "01JD3ZQ4X8K2M5N7P9R1S3T5V7",
                         .queue = "orders",
                         .client = "s-abcdefgh",
                         .data = R"({"sku":"A-1"})",
                         .created_ms = 1732350000000,
                         .fanout = true});
    return bytes_of(fbb);
}

}  // namespace

TEST_CASE("a deliver reads back field by field after verification", "[codec]") {
    const auto bytes = a_deliver();
    const auto* env = open_envelope(bytes.data(), bytes.size());
    REQUIRE(env);
    REQUIRE(env->body_type() == Body::Deliver);
    const auto* d = env->body_as_Deliver();
    CHECK(view(d->id()) == "01JD3ZQ4X8K2M5N7P9R1S3T5V7");
    CHECK(view(d->queue()) == "orders");
    CHECK(view(d->client()) == "s-abcdefgh");
    CHECK(view(d->data()) == R"({"sku":"A-1"})");
    CHECK(d->created_ms() == 1732350000000);
    CHECK(d->fanout());
}

TEST_CASE("a hello carries identity, role and queues", "[codec]") {
    flatbuffers::FlatBufferBuilder fbb;
    const std::vector<std::string> queues{"chat", "echo"};
    encode_hello(fbb, {.id = "0123456789abcdef0123456789abcdef",
                       .endpoint = "tcp://127.0.0.1:7700",
                       .role = adashta::wire::Role::Edge,
                       .name = "edge-1",
                       .queues = &queues,
                       .version = 3,
                       .reply = true,
                       .via = "tcp://localhost:7700"});
    const auto bytes = bytes_of(fbb);
    const auto* env = open_envelope(bytes.data(), bytes.size());
    REQUIRE(env);
    const auto* h = env->body_as_Hello();
    REQUIRE(h);
    CHECK(view(h->node_id()) == "0123456789abcdef0123456789abcdef");
    CHECK(h->role() == adashta::wire::Role::Edge);
    CHECK(h->version() == 3);
    CHECK(h->reply());
    REQUIRE(h->queues()->size() == 2);
    CHECK(view(h->queues()->Get(1)) == "echo");
    CHECK(view(h->via()) == "tcp://localhost:7700");
}

TEST_CASE("a hello says what its sender reads; an old hello reads as nothing extra", "[codec]") {
    flatbuffers::FlatBufferBuilder fbb;
    encode_hello(fbb, {.id = "0123456789abcdef0123456789abcdef",
                       .endpoint = "tcp://127.0.0.1:7700",
                       .queues = nullptr,
                       .reads = adashta::wire::Reads::Responses});
    auto bytes = bytes_of(fbb);
    const auto* env = open_envelope(bytes.data(), bytes.size());
    REQUIRE(env);
    CHECK(env->body_as_Hello()->reads() == adashta::wire::Reads::Responses);
    encode_hello(fbb, {.id = "0123456789abcdef0123456789abcdef",
                       .endpoint = "tcp://127.0.0.1:7700",
                       .queues = nullptr});
    bytes = bytes_of(fbb);
    env = open_envelope(bytes.data(), bytes.size());
    REQUIRE(env);
    CHECK(env->body_as_Hello()->reads() == adashta::wire::Reads::NONE);
}

TEST_CASE("several responses travel in one frame, in order", "[codec]") {
    flatbuffers::FlatBufferBuilder fbb;
    const std::vector<ResponseFields> answers{{.corr = 7, .result = R"({"id":"a"})"},
                                              {.corr = 9, .code = 3, .detail = "no such queue"}};
    encode_responses(fbb, answers);
    const auto bytes = bytes_of(fbb);
    const auto* env = open_envelope(bytes.data(), bytes.size());
    REQUIRE(env);
    REQUIRE(env->body_type() == Body::Responses);
    const auto* items = env->body_as_Responses()->items();
    REQUIRE(items);
    REQUIRE(items->size() == 2);
    CHECK(items->Get(0)->corr() == 7);
    CHECK(view(items->Get(0)->result()) == R"({"id":"a"})");
    CHECK(items->Get(1)->corr() == 9);
    CHECK(items->Get(1)->code() == 3);
    CHECK(view(items->Get(1)->detail()) == "no such queue");
}

TEST_CASE("several requests travel in one frame, in order", "[codec]") {
    flatbuffers::FlatBufferBuilder fbb;
    const std::vector<RequestFields> calls{{.corr = 1, .op = "wq.send", .args = R"({"qname":"a"})"},
                                           {.corr = 2, .op = "wq.receive", .args = "{}"}};
    encode_requests(fbb, calls);
    const auto bytes = bytes_of(fbb);
    const auto* env = open_envelope(bytes.data(), bytes.size());
    REQUIRE(env);
    REQUIRE(env->body_type() == Body::Requests);
    const auto* items = env->body_as_Requests()->items();
    REQUIRE(items);
    REQUIRE(items->size() == 2);
    CHECK(items->Get(0)->corr() == 1);
    CHECK(view(items->Get(0)->op()) == "wq.send");
    CHECK(view(items->Get(0)->args()) == R"({"qname":"a"})");
    CHECK(items->Get(1)->corr() == 2);
    CHECK(view(items->Get(1)->op()) == "wq.receive");
}

TEST_CASE("empty, short and garbage frames are refused, not read", "[codec]") {
    CHECK_FALSE(open_envelope(nullptr, 0));
    const std::uint8_t four[] = {1, 2, 3, 4};
    CHECK_FALSE(open_envelope(four, sizeof four));
    const std::string text = "this is not a flatbuffer at all, just some text";
    CHECK_FALSE(open_envelope(text.data(), text.size()));
}

TEST_CASE("a truncated frame is refused unless only padding was cut", "[codec]") {
    const auto bytes = a_deliver();
    int refused = 0;
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        INFO("first " << n << " of " << bytes.size() << " bytes");
        const auto* env = open_envelope(bytes.data(), n);
        if (!env) {
            ++refused;
            continue;
        }
        // The verifier may accept a cut that removed only trailing padding; then every
        // field must still read exactly as sent.
        const auto* d = env->body_as_Deliver();
        REQUIRE(d);
        CHECK(view(d->data()) == R"({"sku":"A-1"})");
        CHECK(view(d->client()) == "s-abcdefgh");
    }
    CHECK(refused >= static_cast<int>(bytes.size()) - 8);
}

TEST_CASE("random corruption never crashes the reader", "[codec]") {
    // Whatever the verifier lets through must be safe to read; ASan builds check that.
    const auto original = a_deliver();
    std::mt19937 rng{12345};
    int accepted = 0;
    for (int round = 0; round < 5000; ++round) {
        auto bytes = original;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f)
            bytes[rng() % bytes.size()] = static_cast<std::uint8_t>(rng());
        const auto* env = open_envelope(bytes.data(), bytes.size());
        if (!env) continue;
        ++accepted;
        if (const auto* d = env->body_as_Deliver()) {
            (void)view(d->id()).size();
            (void)view(d->data()).size();
            (void)view(d->queue()).size();
        }
    }
    CHECK(accepted < 5000);  // most corruptions are caught
}
