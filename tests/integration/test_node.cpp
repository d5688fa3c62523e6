// A server node for the integration tests: consumes one queue and answers each message to
// its sender with {"node": NAME, "data": DATA}, so a test can see which node got what.
// A message whose data is {"fanout": X} is instead sent to every consumer of the queue.
// Every message is also printed: "message ID RECEIVE_COUNT OFFSET DATA". With --hold-ms N
// the handler keeps each message N ms before answering (and so before the SDK acks it),
// which lets a test kill the node while it holds messages.
//
//   adashta-test-node --name n1 --queue work [--hold-ms 0]   (joins through ADASHTA_SEEDS)
#include <chrono>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "adashta/json.hpp"
#include "adashta/node.hpp"

int main(int argc, char** argv) {
    std::string name = "test-node";
    std::string queue = "work";
    int hold_ms = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag{argv[i]};
        if (flag == "--name")
            name = argv[i + 1];
        else if (flag == "--queue")
            queue = argv[i + 1];
        else if (flag == "--hold-ms")
            hold_ms = std::stoi(argv[i + 1]);
    }
    adashta::NodeOptions options = adashta::NodeOptions::from_env();
    options.name = name;
    adashta::Node node{options};
    auto consumed = node.consume(queue, [&](const adashta::Message& m) {
        std::cout << "message " << m.id << " " << m.receive_count << " " << m.offset << " "
                  << m.data << std::endl;
        if (hold_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds{hold_ms});
        std::string reply = "{\"node\":" + adashta::json::quote(name) + ",\"data\":" + m.data + "}";
        auto object = adashta::json::ObjectView::parse(m.data);
        const bool fanout = object && object->has("fanout");
        if (auto sent = node.produce(m.queue, reply, {.to = fanout ? std::string{} : m.client});
            !sent)
            std::cerr << name << ": " << sent.error().to_string() << "\n";
    });
    if (!consumed) {
        std::cerr << name + ": " << consumed.error().to_string() << "\n";
        return 1;
    }
    node.on_connection([&](const adashta::ClientEvent& e) {
        std::cout << "connection " << e.client << (e.resumed ? " resumed" : "") << std::endl;
    });
    node.on_disconnection([&](const adashta::ClientEvent& e) {
        std::cout << "disconnection " << e.client << std::endl;
    });
    if (auto started = node.start(); !started) {
        std::cerr << name << ": " << started.error().to_string() << "\n";
        return 1;
    }
    std::cout << "ready " << name << " " << node.endpoint() << std::endl;
    adashta::wait_for_signal();
    return 0;
}
