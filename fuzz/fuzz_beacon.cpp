// UDP beacons: what zbeacon hands the mesh (the sender's address and its payload,
// "ADASHTA1 <id> <endpoint> [<key>]") goes to the mesh's beacon handler, with and without
// CURVE. A beacon only makes a candidate to dial; the loopback sink takes those dials.
// Input: one byte of mode (bit 0: CURVE), then payloads separated by a 0xFF byte, each
// heard from 10.0.0.<n>.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adashta/log.hpp"
#include "mesh_harness.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    adashta::log::set_level(adashta::log::Level::error);  // ignored beacons say so at warn
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace adashta::fuzz;
    if (size == 0) return 0;
    std::string_view in{reinterpret_cast<const char*>(data), size};
    LoopbackMesh mesh{(in[0] & 1) ? LoopbackMesh::Security::curve : LoopbackMesh::Security::none};
    in.remove_prefix(1);
    int n = 0;
    for (;;) {
        const auto end = in.find('\xff');
        mesh.hear({.address = "10.0.0." + std::to_string(++n % 256),
                   .payload = std::string{in.substr(0, end)}});
        mesh.drain_sink();
        if (end == std::string_view::npos) break;
        in.remove_prefix(end + 1);
    }
    mesh.dial_wanted();
    mesh.drain_sink();
    return 0;
}
