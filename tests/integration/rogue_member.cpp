// The attacker of the mesh security tests: a process that speaks the mesh protocol by hand
// with raw cppzmq, as anyone who can reach the mesh port could. It binds a ROUTER of its
// own, dials the seed with a DEALER whose routing id is whatever --id says, sends Hello
// claiming any id, role and queues, then tries what a member may do: a fan-out to every
// browser (--fanout QUEUE) and a store call (--request OP). It prints each frame it gets
// back ("got TYPE") and, at the end, one JSON line with the counts.
//
//   adashta-rogue-member --seed tcp://127.0.0.1:7700 [--id ID] [--role node|edge|tool]
//       [--queue Q] [--secret Z85 --server-key Z85] [--fanout Q] [--request OP]
//       [--seconds S]
#include <chrono>
#include <cstring>
#include <optional>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "adashta/ids.hpp"
#include "adashta/mesh/codec.hpp"
#include "adashta/mesh/keys.hpp"

namespace wire = adashta::wire;
namespace mesh = adashta::mesh;

int main(int argc, char** argv) {
    std::map<std::string, std::string> flags{{"--role", "node"}, {"--seconds", "3"}};
    for (int i = 1; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
    const std::string seed = flags["--seed"];
    const std::string id = flags.count("--id") ? flags["--id"] : adashta::new_node_id();
    const std::string role_name = flags["--role"];
    const wire::Role role = role_name == "edge"   ? wire::Role::Edge
                            : role_name == "tool" ? wire::Role::Tool
                                                  : wire::Role::Node;
    std::vector<std::string> queues;
    if (flags.count("--queue")) queues.push_back(flags["--queue"]);
    std::optional<mesh::KeyPair> keys;
    if (flags.count("--secret")) {
        auto pair = mesh::KeyPair::from_secret(flags["--secret"]);
        if (!pair) {
            std::cerr << pair.error().to_string() << "\n";
            return 2;
        }
        keys = *pair;
    }

    zmq::context_t ctx{1};
    zmq::socket_t router{ctx, zmq::socket_type::router};
    router.set(zmq::sockopt::linger, 0);
    if (keys) {  // a CURVE server that takes any client: the attacker checks nobody
        router.set(zmq::sockopt::curve_server, 1);
        router.set(zmq::sockopt::curve_secretkey, keys->secret_key);
    }
    router.bind("tcp://127.0.0.1:*");
    const std::string endpoint = router.get(zmq::sockopt::last_endpoint);
    zmq::socket_t dealer{ctx, zmq::socket_type::dealer};
    dealer.set(zmq::sockopt::routing_id, id);
    dealer.set(zmq::sockopt::linger, 0);
    if (keys) {
        dealer.set(zmq::sockopt::curve_serverkey, flags["--server-key"]);
        dealer.set(zmq::sockopt::curve_publickey, keys->public_key);
        dealer.set(zmq::sockopt::curve_secretkey, keys->secret_key);
    }
    dealer.connect(seed);
    std::cout << "rogue " << id << " at " << endpoint << std::endl;

    flatbuffers::FlatBufferBuilder fbb;
    auto send = [&] { (void)dealer.send(zmq::buffer(fbb.GetBufferPointer(), fbb.GetSize()), zmq::send_flags::dontwait); };
    std::map<std::string, int> got;
    const auto start = std::chrono::steady_clock::now();
    const auto seconds = std::chrono::seconds{std::stoi(flags["--seconds"])};
    auto last_hello = start - std::chrono::seconds{1};
    bool tried = false;
    while (std::chrono::steady_clock::now() - start < seconds) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_hello > std::chrono::milliseconds{200}) {
            last_hello = now;
            const std::string key = keys ? keys->public_key : std::string{};
            mesh::encode_hello(fbb, {.id = id, .endpoint = endpoint, .role = role, .name = "rogue",
                                     .queues = &queues, .version = 100, .reply = true, .via = seed,
                                     .heartbeat_ms = 1000, .public_key = key});
            send();
            mesh::encode_heartbeat(fbb, id, endpoint, 100);
            send();
        }
        if (!tried && now - start > std::chrono::milliseconds{800}) {
            tried = true;
            if (flags.count("--fanout")) {
                mesh::encode_deliver(fbb, {.id = adashta::new_message_id(), .queue = flags["--fanout"],
                                           .data = R"({"rogue":true})", .fanout = true});
                send();
            }
            if (flags.count("--request")) {
                mesh::encode_request(fbb, 1, flags["--request"], R"({"queue":"work"})");
                send();
            }
        }
        zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds{50});
        zmq::message_t from;
        zmq::message_t frame;
        while (router.recv(from, zmq::recv_flags::dontwait)) {
            if (!from.more() || !router.recv(frame)) continue;
            std::vector<std::uint64_t> aligned((frame.size() + 7) / 8);
            std::memcpy(aligned.data(), frame.data(), frame.size());
            const wire::Envelope* env = mesh::open_envelope(aligned.data(), frame.size());
            const std::string type = env ? wire::EnumNameBody(env->body_type()) : "invalid";
            if (got[type]++ == 0) std::cout << "got " << type << std::endl;
        }
    }
    std::string counts = "{";
    for (const auto& [type, n] : got) counts += (counts.size() > 1 ? "," : "") + ("\"" + type + "\":" + std::to_string(n));
    std::cout << "{\"received\":" << counts << "}}" << std::endl;
}
