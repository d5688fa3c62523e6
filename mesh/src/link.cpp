#include "adashta/mesh/link.hpp"

namespace adashta::mesh {

bool Link::send(const flatbuffers::FlatBufferBuilder& fbb) {
    zmq::message_t msg{fbb.GetBufferPointer(), fbb.GetSize()};
    std::lock_guard lock{mutex_};
    if (!dealer_) return false;
    if (!dealer_.send(msg, zmq::send_flags::dontwait)) {
        ++send_failed_;
        return false;
    }
    return true;
}

void Link::close(std::chrono::milliseconds linger) {
    std::lock_guard lock{mutex_};
    if (!dealer_) return;
    dealer_.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
    dealer_.close();
}

}  // namespace adashta::mesh
