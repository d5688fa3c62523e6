// Every mesh message through its verifier and its handler: the input is a run of frames
// from a few senders (mesh_harness.hpp says the format), fed to a fresh Mesh's receive path
// one by one, as its ROUTER would read them. So a Hello can make a sender a member and the
// Deliver, Request or Bye after it reaches the member-only code. Crashes, leaks, sanitizer
// reports and a reply that fails its own verifier are findings.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "adashta/log.hpp"
#include "check.hpp"
#include "mesh_harness.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    adashta::log::set_level(adashta::log::Level::error);  // refused Hellos say so at warn
    return 0;
}

namespace {

bool verifies(std::string_view frame) {
    std::vector<std::uint64_t> aligned((frame.size() + 7) / 8);
    if (!frame.empty()) std::memcpy(aligned.data(), frame.data(), frame.size());
    return adashta::mesh::open_envelope(aligned.data(), frame.size()) != nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace adashta::fuzz;
    if (size == 0) return 0;
    const std::string_view in{reinterpret_cast<const char*>(data), size};
    LoopbackMesh mesh{(in[0] & 1) ? LoopbackMesh::Security::curve : LoopbackMesh::Security::none};
    for (const Record& record : split_records(in.substr(1))) {
        const auto received = mesh.stats().received.load();
        const auto invalid = mesh.stats().invalid.load();
        mesh.receive(kSenders[record.sender], kKeys[record.key], record.frame,
                     record.misaligned);
        // Read exactly when the verifier takes it; refused ones are counted invalid.
        const bool valid = verifies(record.frame);
        FUZZ_CHECK(mesh.stats().received == received + (valid ? 1 : 0));
        FUZZ_CHECK(valid || mesh.stats().invalid == invalid + 1);
        mesh.drain_sink();
    }
    return 0;
}
