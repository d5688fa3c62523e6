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
#include "node_harness.hpp"
#include "router_harness.hpp"

namespace fs = std::filesystem;
namespace mesh = adashta::mesh;
namespace token = adashta::token;
namespace wire = adashta::wire;
using namespace std::string_literals;
using adashta::fuzz::append_record;
using adashta::fuzz::kKeys;
using adashta::fuzz::kSenders;
using adashta::fuzz::NodeOp;
using adashta::fuzz::RouterOp;

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

// fuzz_router inputs: a mode byte (which peers join first), then steps (router_harness.hpp).
// Each seed walks one path of the Router: every mesh message a server node or another edge
// sends it, every store call by name, and the browser steps that give acks something to ack.
void router_inputs() {
    using adashta::fuzz::append_router_step;
    flatbuffers::FlatBufferBuilder fbb;
    const char all = 7;  // both nodes and the other edge are members
    auto seed = [&](std::string_view name, char mode,
                    const std::vector<std::pair<RouterOp, std::string>>& steps,
                    std::uint8_t peer = 0, bool flag = true) {
        std::string in{mode};
        for (const auto& [op, bytes] : steps) append_router_step(in, op, peer, bytes, flag);
        write("router", name, in);
    };
    auto frame = [&] { return std::pair{RouterOp::frame, bytes_of(fbb)}; };
    auto request = [&](std::uint64_t corr, std::string_view op, std::string_view args) {
        mesh::encode_request(fbb, corr, op, args);
        return frame();
    };
    auto produce = [](std::string_view queue, std::string_view id, std::string_view data) {
        std::string bytes{queue};
        bytes += '\0';
        bytes += id;
        bytes += '\0';
        bytes += data;
        return std::pair{RouterOp::produce, bytes};
    };

    // What a node delivers to browsers: to a session, to every consumer, to a user, later.
    mesh::encode_deliver(fbb, {.id = "node-msg-0001", .queue = "orders",
                               .client = adashta::fuzz::router_session(1),
                               .data = R"({"sku":"A-1","qty":2})"});
    seed("deliver-client", all, {frame()});
    mesh::encode_deliver(fbb, {.queue = "chat.lobby", .data = "\"hi\"", .fanout = true});
    seed("deliver-fanout", all, {frame()});
    mesh::encode_deliver(fbb, {.id = "node-msg-0002", .queue = "orders", .data = "[1,2]",
                               .user = "alice"});
    seed("deliver-user", all, {frame()});
    // A user whose name starts with "u:", as the store's keys do: stored under the key of
    // the user without it, it went to that other user (found while writing fuzz_router's
    // check; test_streams.cpp), and so did an at-most-once one.
    mesh::encode_deliver(fbb, {.id = "node-msg-0004", .queue = "orders", .data = "4",
                               .user = "u:alice"});
    seed("regress-user-named-u", all, {frame()});
    mesh::encode_deliver(fbb, {.id = "node-msg-0005", .queue = "live", .data = "5",
                               .user = "u:alice"});
    seed("regress-user-named-u-at-most-once", all, {frame()});
    mesh::encode_deliver(fbb, {.id = "node-msg-0003", .queue = "orders", .data = "{}",
                               .fanout = true, .deliver_at_ms = 4102444800000});
    seed("deliver-later", all, {frame()});
    mesh::encode_deliver(fbb, {.queue = "live", .client = adashta::fuzz::router_session(0),
                               .data = "1"});
    seed("deliver-at-most-once", all, {frame()});
    mesh::encode_deliver(fbb, {.id = "x", .queue = "orders", .data = "{not json"});
    seed("deliver-bad", all, {frame()});

    // Browser messages to nodes, then the node's ack of what it got.
    seed("produce-ack", all,
         {{RouterOp::connect, "alice"}, produce("orders", "client-id-01", R"({"n":1})"),
          {RouterOp::ack, std::string(1, '\0')}});
    seed("produce-redeliver", all, {produce("redo", "", "true")});
    seed("produce-at-most-once", all, {produce("live", "", "\"now\""), {RouterOp::retry, ""}});
    seed("produce-too-large", all, {produce("tiny", "", '"' + std::string(80, 'x') + '"')});
    seed("produce-no-consumer", 0, {produce("orders", "", "null")});
    {
        // Both nodes' queues full (answers they have not read): the owner refuses, the next
        // node too; an at-most-once message waits for room, a stored one is released.
        std::string in{all};
        for (std::uint8_t peer : {0, 1})
            for (int i = 0; i < 18; ++i)
                append_router_step(in, RouterOp::frame, peer, request(1, "wq.list", "{}").second);
        append_router_step(in, RouterOp::produce, 0, std::string{"live\0\0[1]", 9}, true);
        append_router_step(in, RouterOp::produce, 0, std::string{"orders\0\0[2]", 11}, true);
        append_router_step(in, RouterOp::retry, 0, "", true);
        append_router_step(in, RouterOp::retry, 0, "");
        write("router", "peers-full", in);
    }
    {
        std::string in{all};
        using namespace std::string_view_literals;
        append_router_step(in, RouterOp::produce, 2, "sched\0\0{}"sv, true, true);
        append_router_step(in, RouterOp::produce, 2, "orders\0\0{}"sv, false, true);
        write("router", "produce-scheduled", in);
    }

    // Browser reads of what the store keeps, and the rest of the HTTP side.
    seed("fetch-replay-where", all,
         {produce("tiny", "", "1"), produce("tiny", "", "2"), produce("tiny", "", "3"),
          produce("tiny", "", "4"), {RouterOp::fetch, "tiny"}, {RouterOp::replay, "tiny"},
          {RouterOp::where, "tiny"}, {RouterOp::fetch, "live"}, {RouterOp::replay, "live"},
          {RouterOp::where, "live"}});
    seed("clients", all,
         {{RouterOp::connect, "bob"}, {RouterOp::disconnect, ""}, {RouterOp::expire, ""},
          {RouterOp::admin, ""}});

    // Every store call a node makes, one Request each, and a batch of them.
    const std::vector<std::pair<std::string_view, std::string_view>> calls{
        {"produce", R"({"id":"node-msg-0100","queue":"orders","data":{"x":1},"to":"s-fuzz-session-0"})"},
        {"produce", R"({"id":"node-msg-0101","queue":"orders","data":[],"toUser":"alice","deliverAt":4102444800000})"},
        {"produce", R"({"id":"node-msg-0102","queue":"live","data":"y"})"},
        {"fetch", R"({"queue":"orders","from":1,"limit":10})"},
        {"fetch", R"({"queue":"live"})"},
        {"cancel", R"({"id":"node-msg-0101"})"},
        {"wq.list", "{}"},
        {"wq.create", R"({"qname":"jobs","vt":30,"delay":0,"maxsize":65536,"maxReceive":3,"deadLetter":"jobs.dead"})"},
        {"wq.set", R"({"qname":"jobs","vt":60})"},
        {"wq.attributes", R"({"qname":"jobs"})"},
        {"wq.send", R"({"qname":"jobs","message":"resize a.png","delay":0})"},
        {"wq.sendBatch", R"({"qname":"jobs","messages":["a","b"]})"},
        {"wq.receive", R"({"qname":"jobs","vt":10,"wait":50})"},
        {"wq.receiveBatch", R"({"qname":"jobs","max":5,"wait":0})"},
        {"wq.pop", R"({"qname":"jobs"})"},
        {"wq.visibility", R"({"qname":"jobs","id":"x","vt":5})"},
        {"wq.delete", R"({"qname":"jobs","id":"x"})"},
        {"wq.deleteBatch", R"({"qname":"jobs","ids":["x","y"]})"},
        {"wq.drop", R"({"qname":"jobs"})"},
        {"nope", "{}"},
    };
    std::vector<std::pair<RouterOp, std::string>> every;
    std::uint64_t corr = 0;
    for (const auto& [op, args] : calls) {
        ++corr;
        auto step = request(corr, op, args);
        std::string name{op};
        name = "call-" + name + "-" + std::to_string(corr);
        seed(name, all, {step});
        every.push_back(step);
    }
    seed("calls", all, every);
    seed("calls-from-plain-node", all, every, 1);
    std::vector<mesh::RequestFields> batch;
    for (std::size_t i = 7; i < 14; ++i) batch.push_back({i, calls[i].first, calls[i].second});
    mesh::encode_requests(fbb, batch);
    seed("requests", all, {frame()});
    // A receive that waits, then the send that wakes it.
    seed("receive-waits", all,
         {request(1, "wq.create", R"({"qname":"jobs"})"),
          request(2, "wq.receive", R"({"qname":"jobs","wait":60000})"),
          request(3, "wq.send", R"({"qname":"jobs","message":"m"})")});

    // Membership: heartbeats, peer lists, a changed Hello, a Bye, and what an edge ignores.
    mesh::encode_heartbeat(fbb, kSenders[0], "tcp://127.0.0.1:7801", 2);
    auto beat = frame();
    mesh::encode_peer_list(fbb, {"tcp://127.0.0.1:7804"});
    auto peers = frame();
    const std::vector<std::string> fewer{"orders"};
    mesh::encode_hello(fbb, {.id = kSenders[0], .endpoint = "tcp://127.0.0.1:7801",
                             .name = "worker", .queues = &fewer, .version = 2,
                             .via = adashta::fuzz::kOwnEndpoint, .heartbeat_ms = 1000});
    auto changed = frame();
    mesh::encode_bye(fbb, kSenders[0]);
    auto bye = frame();
    mesh::encode_response(fbb, 1, 0, "", "{}");
    auto response = frame();
    const std::vector<mesh::ResponseFields> answers{{1, 0, "", "{}"}, {2, 4004, "no", ""}};
    mesh::encode_responses(fbb, answers);
    auto responses = frame();
    mesh::encode_client_event(fbb, wire::ClientEventKind::Connected, "s-x", false, "alice");
    auto event = frame();
    seed("membership", all,
         {beat, peers, changed, produce("chat.room", "", "{}"), bye, produce("orders", "", "0"),
          response, responses, event});
    // The first Hello comes from the fuzzer's own bytes.
    {
        std::string in{'\0'};
        flatbuffers::FlatBufferBuilder hello;
        adashta::fuzz::encode_router_peer_hello(hello, 0);
        append_router_step(in, RouterOp::frame, 0, bytes_of(hello));
        append_router_step(in, RouterOp::produce, 0, std::string{"orders\0\0{}", 10}, true);
        write("router", "hello", in);
    }
}

// fuzz_node inputs: a mode byte (which edges and peer join first), then steps
// (node_harness.hpp). Each seed walks one path of the node: deliveries that its handler
// acks, throws on, defers, answers or stops on; client events; answers to its calls; peer
// lists and leaving edges.
void node_inputs() {
    using adashta::fuzz::append_node_step;
    using namespace std::string_view_literals;
    flatbuffers::FlatBufferBuilder fbb;
    const char all = 7;
    auto seed = [&](std::string_view name, char mode,
                    const std::vector<std::pair<NodeOp, std::string>>& steps,
                    std::uint8_t peer = 0) {
        std::string in{mode};
        for (const auto& [op, bytes] : steps) append_node_step(in, op, peer, bytes, true);
        write("node", name, in);
    };
    auto frame = [&] { return std::pair{NodeOp::frame, bytes_of(fbb)}; };
    auto deliver = [&](std::string_view id, std::string_view queue, std::string_view data,
                       std::uint32_t receive_count = 1) {
        mesh::encode_deliver(fbb, {.id = id, .queue = queue,
                                   .client = adashta::fuzz::kNodeClient, .data = data,
                                   .created_ms = 1796246394000, .offset = 7,
                                   .receive_count = receive_count, .user = "alice"});
        return frame();
    };

    seed("deliver-ack", all, {deliver("m-0000000001", "orders", R"({"sku":"A-1"})")});
    seed("deliver-again", all, {deliver("m-0000000001", "orders", "1", 2)});
    seed("deliver-at-most-once", all, {deliver("m-0000000002", "live", "2", 0)});
    seed("deliver-unconsumed", all, {deliver("m-0000000003", "elsewhere", "3")});
    seed("deliver-throws", all,
         {deliver("m-0000000004", "orders", R"("throw")"), deliver("m-0000000005", "jobs", "int")});
    seed("deliver-defer", all,
         {deliver("m-0000000006", "orders", R"("defer")"), {NodeOp::settle, ""},
          deliver("m-0000000007", "live", R"("defer")", 0), {NodeOp::settle, ""}});
    seed("deliver-reply", all,
         {deliver("m-0000000008", "orders", R"({"reply":1})"),
          deliver("m-0000000009", "orders", R"({"user":1})")});
    seed("deliver-unconsume", all,
         {deliver("m-0000000010", "jobs", R"("unconsume")"), deliver("m-0000000011", "jobs", "1")});
    seed("deliver-stop", all,
         {deliver("m-0000000012", "orders", R"("stop")"), deliver("m-0000000013", "orders", "2")});
    seed("deliver-from-node", all, {deliver("m-0000000014", "orders", "3")}, 2);

    mesh::encode_client_event(fbb, wire::ClientEventKind::Connected, adashta::fuzz::kNodeClient,
                              false, "throw");
    auto connected = frame();
    mesh::encode_client_event(fbb, wire::ClientEventKind::Disconnected,
                              adashta::fuzz::kNodeClient, false, "alice");
    auto disconnected = frame();
    seed("client-events", all,
         {connected, {NodeOp::produce, "orders\0{\"to\":1}"s}, disconnected,
          {NodeOp::produce, "orders\0[]"s}});

    // Calls and their answers: one Response, a batch of them, an error, an unknown corr.
    mesh::encode_response(fbb, 1, 0, "", R"({"messages":[{"id":"a","offset":1,"client":"c","data":{},"ts":5}],"next":2})");
    auto answer = frame();
    seed("call-answered", all,
         {{NodeOp::call, "fetch\0{\"queue\":\"orders\"}"s}, answer});
    const std::vector<mesh::ResponseFields> answers{{1, 0, "", "{}"},
                                                    {2, 4004, "no such queue", ""},
                                                    {99, 0, "", "{}"}};
    mesh::encode_responses(fbb, answers);
    auto batch = frame();
    seed("calls-answered", all,
         {{NodeOp::call, "wq.send\0{\"qname\":\"jobs\",\"message\":\"m\"}"s},
          {NodeOp::call, "wq.receive\0{\"qname\":\"jobs\"}"s}, batch},
         1);
    {
        std::string in{all};
        append_node_step(in, NodeOp::produce, 0, "orders\0{\"x\":1}"sv, false, true);
        mesh::encode_response(fbb, 1, 0, "", R"({"id":"x","offset":3})");
        append_node_step(in, NodeOp::frame, 0, bytes_of(fbb));
        write("node", "produce-confirmed", in);
    }
    seed("call-unanswered", all, {{NodeOp::call, "cancel\0{\"id\":\"m\"}"s}});
    seed("call-no-edge", 4, {{NodeOp::call, "wq.list\0{}"s}});

    // Membership: the calling edge leaves, another answers; a peer list; consume changes.
    mesh::encode_bye(fbb, kSenders[0]);
    auto bye = frame();
    mesh::encode_peer_list(fbb, {"tcp://127.0.0.1:7720"});
    auto peers = frame();
    mesh::encode_heartbeat(fbb, kSenders[1], "tcp://127.0.0.1:7710", 1);
    auto beat = frame();
    seed("membership", all,
         {{NodeOp::call, "wq.list\0{}"s}, bye, peers, beat, {NodeOp::consume, "extra"},
          {NodeOp::unconsume, "orders"}, deliver("m-0000000015", "orders", "4"),
          {NodeOp::produce, "extra\0null"s}});
    // The first Hello from the fuzzer's own bytes, then a message.
    {
        std::string in{'\0'};
        flatbuffers::FlatBufferBuilder hello;
        adashta::fuzz::encode_node_peer_hello(hello, 0);
        append_node_step(in, NodeOp::frame, 0, bytes_of(hello));
        append_node_step(in, NodeOp::frame, 0, deliver("m-0000000016", "orders", "5").second);
        write("node", "hello", in);
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
    router_inputs();
    node_inputs();
    beacons();
    tokens(argv[2]);
    return 0;
}
