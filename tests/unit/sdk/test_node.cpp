#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "adashta/mesh/mesh.hpp"
#include "adashta/node.hpp"

using namespace adashta;

namespace {

// An edge that answers every call with its own arguments: enough to check that the answers
// of calls made at once, sent several to a frame and answered several to a frame, each
// reach the call that made them.
struct EchoEdge final : mesh::MeshHandler {
    mesh::Mesh mesh{{.role = wire::Role::Edge, .name = "echo-edge"}, *this};
    std::atomic<int> requests{0};

    void on_request(const mesh::PeerInfo& from, const wire::Request& request) override {
        ++requests;
        auto& fbb = mesh.builder();
        mesh::encode_response(fbb, request.corr(), 0, {}, mesh::view(request.args()));
        mesh.send(from.id, fbb);
    }
};

}  // namespace

TEST_CASE("calls made from many threads at once each get their own answer", "[node]") {
    EchoEdge edge;
    REQUIRE(edge.mesh.start());
    NodeOptions options;
    options.seeds = {edge.mesh.endpoint()};
    Node node{options};
    REQUIRE(node.start());
    REQUIRE(node.wait_for_edges(1, std::chrono::seconds{10}));

    constexpr int kThreads = 8;
    constexpr int kCalls = 200;
    std::atomic<int> wrong{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < kThreads; ++t)
        callers.emplace_back([&, t] {
            for (int i = 0; i < kCalls; ++i) {
                const std::string args =
                    "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
                auto answer = node.call("echo", args);
                if (!answer || *answer != args) ++wrong;
            }
        });
    for (auto& c : callers) c.join();
    CHECK(wrong == 0);
    CHECK(edge.requests == kThreads * kCalls);
    node.stop();
    edge.mesh.stop();
}

TEST_CASE("a call without an edge fails with no_edge at once", "[node]") {
    NodeOptions options;
    options.seeds = {"tcp://127.0.0.1:1"};  // nobody there
    Node node{options};
    REQUIRE(node.start());
    auto answer = node.call("echo", "{}");
    REQUIRE_FALSE(answer);
    CHECK(answer.error().code == Errc::no_edge);
}
