// Mesh::receive, the verify-and-handle step of drain_router, fed frames directly through
// the fuzz targets' LoopbackMesh (fuzz/mesh_harness.hpp): nothing is bound or dialed
// outside the process.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "mesh_harness.hpp"

using adashta::fuzz::kSenders;
using adashta::fuzz::LoopbackMesh;
namespace mesh = adashta::mesh;

namespace {

std::string a_hello(std::string_view id) {
    flatbuffers::FlatBufferBuilder fbb;
    const std::vector<std::string> queues{"orders"};
    mesh::encode_hello(fbb, {.id = id,
                             .endpoint = "tcp://127.0.0.1:7801",
                             .queues = &queues,
                             .reply = true,
                             .heartbeat_ms = 1000});
    return {reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()};
}

}  // namespace

// Found by fuzz_mesh: the aligned copy of an empty frame was a memcpy to the null data() of
// an empty vector, undefined behaviour that aborts a UBSan build.
TEST_CASE("an empty frame at an odd address is refused without being copied", "[mesh]") {
    LoopbackMesh loop{LoopbackMesh::Security::none};
    loop.receive(kSenders[0], "", "", true);
    CHECK(loop.stats().invalid == 1);
    CHECK(loop.stats().received == 0);
}

TEST_CASE("a frame at an odd address is read from an aligned copy", "[mesh]") {
    LoopbackMesh loop{LoopbackMesh::Security::none};
    loop.receive(kSenders[0], "", a_hello(kSenders[0]), true);
    CHECK(loop.stats().received == 1);
    CHECK(loop.stats().invalid == 0);
    loop.drain_sink();
    CHECK(loop.sent() == 1);  // the Hello it asked for, dialed into the loopback sink
}
