#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adashta/mesh/link.hpp"
#include "adashta/mesh/transport.hpp"

using namespace adashta::mesh;

namespace {

// A ROUTER on a free loopback port and a Link dialing it.
struct Pair {
    zmq::context_t ctx{1};
    zmq::socket_t router;
    std::atomic<std::uint64_t> send_failed{0};
    std::shared_ptr<Link> link;

    Pair() {
        auto bound = bind_router(ctx, "tcp://127.0.0.1:*", {});
        REQUIRE(bound);
        router = std::move(*bound);
        auto dealer = connect_dealer(ctx, "link-test", bound_endpoint(router), {});
        REQUIRE(dealer);
        link = std::make_shared<Link>(std::move(*dealer), send_failed);
    }
    ~Pair() { link->close(); }

    // The next frame's text, waiting up to 10 s (ZMQ_IMMEDIATE refuses sends until the
    // connection is up, so senders retry).
    std::string receive() {
        zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, std::chrono::seconds{10}) == 0) return "(nothing came)";
        zmq::message_t from;
        zmq::message_t frame;
        REQUIRE(router.recv(from));
        REQUIRE(router.recv(frame));
        return frame.to_string();
    }
};

flatbuffers::FlatBufferBuilder text(const std::string& s) {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(fbb.CreateString(s));
    return fbb;
}

std::string payload_of(const std::string& frame) {
    auto root = flatbuffers::GetRoot<flatbuffers::String>(frame.data());
    return root->str();
}

}  // namespace

TEST_CASE("a link carries sends from many threads, each message whole", "[link]") {
    Pair pair;
    constexpr int kThreads = 4;
    constexpr int kEach = 200;
    std::vector<std::thread> senders;
    for (int t = 0; t < kThreads; ++t)
        senders.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                auto fbb = text(std::to_string(t) + ":" + std::to_string(i));
                while (!pair.link->send(fbb)) std::this_thread::yield();  // until connected
            }
        });
    std::set<std::string> seen;
    for (int i = 0; i < kThreads * kEach; ++i) seen.insert(payload_of(pair.receive()));
    for (auto& s : senders) s.join();
    CHECK(seen.size() == kThreads * kEach);
    CHECK(seen.count("3:199") == 1);
}

TEST_CASE("a closed link refuses sends and says so", "[link]") {
    Pair pair;
    pair.link->close();
    pair.link->close();  // idempotent
    CHECK_FALSE(pair.link->send(text("late")));
    CHECK(pair.send_failed == 0);  // a closed link is not a refused send
}
