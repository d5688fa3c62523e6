// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from real valid
// inputs: browser frames as docs/protocol.md shows them, mesh messages from the encoders in
// mesh/src/codec.cpp, beacons as Mesh::start() publishes them, and tokens minted by
// token::mint with the keys in fuzz/keys/. Run by scripts/fuzz.sh --seed; the output is
// committed, so rerun it when a message or the input format of a target changes.
//
//   make_corpus fuzz/corpus   # rewrites the files it makes, leaves others alone
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "adashta/mesh/codec.hpp"
#include "adashta/token.hpp"
#include "mesh_harness.hpp"

namespace fs = std::filesystem;
namespace mesh = adashta::mesh;
namespace token = adashta::token;
namespace wire = adashta::wire;
using adashta::fuzz::append_record;
using adashta::fuzz::kKeys;
using adashta::fuzz::kSenders;

namespace {

fs::path g_root;

void write(std::string_view target, std::string_view name, std::string_view bytes) {
    const fs::path dir = g_root / target;
    fs::create_directories(dir);
    std::ofstream out{dir / name, std::ios::binary | std::ios::trunc};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "make_corpus: cannot write %s\n", (dir / name).c_str());
        std::exit(1);
    }
}

std::string bytes_of(const flatbuffers::FlatBufferBuilder& fbb) {
    return {reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()};
}

void browser_frames() {
    const std::vector<std::pair<std::string_view, std::string_view>> frames{
        {"hello", R"({"type":"hello"})"},
        {"hello-resume",
         R"({"type":"hello","ref":1,"session":"s-3e8d0c1a9b7f4c2d8e6a5b4c3d2e1f0a","secret":"9f2c0d","token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"})"},
        {"produce", R"({"type":"produce","ref":7,"queue":"orders","data":{"sku":"A-1","qty":2}})"},
        {"produce-id-delay",
         R"({"type":"produce","ref":8,"queue":"chat.lobby","id":"msg-0001-abcd","data":"hi \u00e9\ud83d\ude00","delay":1500})"},
        {"produce-deliver-at",
         R"({"type":"produce","queue":"jobs","data":[1,2.5e3,-0,true,false,null],"deliverAt":1796246394000})"},
        {"consume", R"({"type":"consume","ref":2,"queue":"chat.*"})"},
        {"consume-from", R"({"type":"consume","ref":3,"queue":"orders","from":42})"},
        {"unconsume", R"({"type":"unconsume","ref":4,"queue":"orders"})"},
        {"fetch", R"({"type":"fetch","ref":5,"queue":"orders","from":1,"limit":50})"},
        {"fetch-since", R"({"type":"fetch","ref":6,"queue":"orders","since":1796246394000})"},
        {"ping", R"({"type":"ping","ref":9})"},
        {"refresh", R"({"type":"refresh","ref":10,"token":"eyJhbGciOiJIUzI1NiJ9.e30.c2ln"})"},
        {"unknown-type", R"({"type":"subscribe","ref":11})"},
    };
    for (const auto& [name, text] : frames) {
        write("client_frame", name, text);
        write("json", "frame-" + std::string{name}, text);
    }
    const std::vector<std::pair<std::string_view, std::string_view>> texts{
        {"nested", R"({"a":{"b":[{"c":[[[]]]},{}]},"d":"\"\\\/\b\f\n\r\t"})"},
        {"numbers", "[0,-1,1.5,1e10,-2.5E-3,123456789012345678901234567890]"},
        {"strings", R"(["","\u0000","\uD834\uDD1E","é漢字😀"])"},
        {"scalars", " \t\r\n true "},
        {"config", R"({"listen":"127.0.0.1:7070","retention":"24h","tokenSecret":null})"},
    };
    for (const auto& [name, text] : texts) write("json", name, text);
}

// Mesh inputs: a mode byte, then records (mesh_harness.hpp).
void mesh_messages() {
    flatbuffers::FlatBufferBuilder fbb;
    const std::vector<std::string> queues{"orders", "chat.*"};
    auto hello = [&](std::size_t sender, std::size_t key, bool reply) {
        mesh::encode_hello(fbb, {.id = kSenders[sender],
                                 .endpoint = "tcp://127.0.0.1:7801",
                                 .role = wire::Role::Node,
                                 .name = "worker",
                                 .queues = &queues,
                                 .version = 3,
                                 .reply = reply,
                                 .via = "tcp://127.0.0.1:7800",
                                 .heartbeat_ms = 1000,
                                 .reads = wire::Reads::Responses | wire::Reads::Requests,
                                 .public_key = kKeys[key]});
        return bytes_of(fbb);
    };
    std::vector<std::pair<std::string, std::string>> bodies;
    mesh::encode_heartbeat(fbb, kSenders[0], "tcp://127.0.0.1:7801", 3);
    bodies.emplace_back("heartbeat", bytes_of(fbb));
    mesh::encode_peer_list(fbb, {"tcp://127.0.0.1:7802", "127.0.0.1:7803"},
                           {std::string{kKeys[1]}, ""});
    bodies.emplace_back("peer-list", bytes_of(fbb));
    mesh::encode_deliver(fbb, {.id = "m-0001", .queue = "orders", .client = "s-abcdefgh12",
                               .data = R"({"sku":"A-1"})", .created_ms = 1796246394000,
                               .offset = 12, .receive_count = 1, .user = "alice"});
    bodies.emplace_back("deliver", bytes_of(fbb));
    mesh::encode_deliver(fbb, {.id = "m-0002", .queue = "chat.lobby", .data = "\"hi\"",
                               .fanout = true, .deliver_at_ms = 1796246395000});
    bodies.emplace_back("deliver-fanout", bytes_of(fbb));
    mesh::encode_ack(fbb, "m-0001", "orders");
    bodies.emplace_back("ack", bytes_of(fbb));
    mesh::encode_request(fbb, 41, "fetch", R"({"queue":"orders","from":1,"limit":10})");
    bodies.emplace_back("request", bytes_of(fbb));
    const std::vector<mesh::RequestFields> requests{{1, "wq.send", R"({"queue":"jobs"})"},
                                                    {2, "wq.receive", R"({"queue":"jobs"})"}};
    mesh::encode_requests(fbb, requests);
    bodies.emplace_back("requests", bytes_of(fbb));
    mesh::encode_response(fbb, 41, 0, "", R"({"messages":[],"next":1})");
    bodies.emplace_back("response", bytes_of(fbb));
    const std::vector<mesh::ResponseFields> responses{{1, 0, "", "{}"},
                                                      {2, 4004, "no such queue", ""}};
    mesh::encode_responses(fbb, responses);
    bodies.emplace_back("responses", bytes_of(fbb));
    mesh::encode_client_event(fbb, wire::ClientEventKind::Connected, "s-abcdefgh12", true,
                              "alice");
    bodies.emplace_back("client-event", bytes_of(fbb));
    mesh::encode_bye(fbb, kSenders[0]);
    bodies.emplace_back("bye", bytes_of(fbb));

    for (const char mode : {'\0', '\1'}) {  // plain, CURVE (sender 0 with key 0)
        const std::string suffix = mode ? "-curve" : "";
        const std::uint8_t key = mode ? 0 : 3;
        std::string all{mode};
        append_record(all, 0, key, hello(0, key, true));
        for (const auto& [name, body] : bodies) {
            std::string one{mode};
            append_record(one, 0, key, hello(0, key, true));
            append_record(one, 0, key, body);
            write("mesh", name + suffix, one);
            if (name != "bye") append_record(all, 0, key, body);
        }
        // A second member, an answer to our Hello, and the first one leaving.
        append_record(all, 1, mode ? 1 : 3, hello(1, mode ? 1 : 3, false));
        append_record(all, 0, key, bodies.back().second);
        write("mesh", "session" + suffix, all);
        std::string odd{mode};  // every frame at an odd address, as ZeroMQ keeps small ones
        append_record(odd, 0, key, hello(0, key, true), true);
        append_record(odd, 0, key, bodies[2].second, true);
        write("mesh", "deliver-misaligned" + suffix, odd);
        // Found by fuzz_mesh: an empty frame at an odd address (test_mesh_receive.cpp).
        std::string empty{mode};
        append_record(empty, 0, key, "", true);
        write("mesh", "regress-empty-frame-misaligned" + suffix, empty);
        std::string lone{mode};
        append_record(lone, 2, mode ? 2 : 3, bodies[2].second);  // data from a non-member
        write("mesh", "deliver-from-stranger" + suffix, lone);
    }
}

void beacons() {
    const std::string plain = std::string{"ADASHTA1 "} + std::string{kSenders[0]} +
                              " tcp://10.0.0.2:7700";
    write("beacon", "plain", std::string(1, '\0') + plain);
    write("beacon", "curve", "\1" + plain + " " + std::string{kKeys[0]});
    write("beacon", "curve-unknown-key", "\1" + plain + " " + std::string{kKeys[2]});
    write("beacon", "several",
          std::string(1, '\0') + plain + "\xff" + "ADASHTA1 " + std::string{kSenders[1]} +
              " 10.0.0.3:7701\xff" + "ADASHTA2 x y");
}

std::string read_file(const fs::path& path) {
    std::ifstream in{path, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, {}};
}

void tokens(const fs::path& keys) {
    auto hs = token::Key::from_secret("fuzz-secret-fuzz-secret-fuzz-secret-0123");
    auto rs = token::Key::from_pem_file(keys / "rs256.pem");
    auto es = token::Key::from_pem_file(keys / "es256.pem");
    if (!hs || !rs || !es) {
        std::fprintf(stderr, "make_corpus: the keys in %s do not load\n", keys.c_str());
        std::exit(1);
    }
    const token::Claims claims{.subject = "alice",
                               .expires_s = 1'990'000'000,
                               .grants = {.produce = {"orders"},
                                          .consume = {"chat.*", "orders"},
                                          .fetch = {"*"}}};
    for (const auto& [name, key] :
         {std::pair{"hs256", &*hs}, {"rs256", &*rs}, {"es256", &*es}}) {
        auto jwt = token::mint(claims, *key);
        if (!jwt) std::exit(1);
        write("token", std::string{"verify-"} + name, std::string(1, '\0') + *jwt);
    }
    auto expired = token::mint({.subject = "bob", .expires_s = 1'000'000'000}, *hs);
    write("token", "verify-expired", std::string(1, '\0') + *expired);
    using namespace std::string_literals;
    write("token", "sign-grants",
          "\1"s + R"({"alg":"HS256","typ":"JWT"})" + '\0' +
              R"({"sub":"alice","exp":1990000000,"produce":["orders"],"consume":["chat.*"],"fetch":[]})");
    write("token", "sign-bad-grant",
          "\1"s + R"({"alg":"HS256"})" + '\0' + R"({"sub":"a","exp":1990000000,"fetch":[1,"x"]})");
    write("token", "sign-none", "\1"s + R"({"alg":"none"})" + '\0' + R"({"sub":"a","exp":1})");
    for (const char* pem : {"rs256.pub.pem", "es256.pub.pem", "es256.pem"})
        write("token", std::string{"pem-"} + pem, "\2" + read_file(keys / pem));
    write("token", "glob", "\3"s + "chat.*.room*" + '\0' + "chat.eu.room12");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: make_corpus CORPUS_DIR KEYS_DIR\n");
        return 2;
    }
    g_root = argv[1];
    browser_frames();
    mesh_messages();
    beacons();
    tokens(argv[2]);
    return 0;
}
