// The echo server node: consumes the queue "echo" and sends each message's data back to
// the client that sent it, on the same queue.
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 ./build/adashta-echo
#include <iostream>

#include "adashta/node.hpp"

int main() {
    adashta::Node node;  // options from ADASHTA_* environment variables
    auto consumed = node.consume("echo", [&node](const adashta::Message& m) {
        if (auto sent = node.produce("echo", m.data, {.to = m.client}); !sent)
            std::cerr << "echo: cannot reply to " << m.client << ": " << sent.error().to_string()
                      << "\n";
    });
    if (!consumed) {
        std::cerr << "echo: " << consumed.error().to_string() << "\n";
        return 1;
    }
    if (auto started = node.start(); !started) {
        std::cerr << "echo: " << started.error().to_string() << "\n";
        return 1;
    }
    std::cerr << "echo: consuming \"echo\" at " << node.endpoint() << "\n";
    adashta::wait_for_signal();
    return 0;
}
