#include "adashta/mesh/membership.hpp"

#include <algorithm>

namespace adashta::mesh {

Membership::Change Membership::apply_hello(PeerInfo hello, Clock::time_point now,
                                           std::optional<PeerInfo>* replaced) {
    std::sort(hello.queues.begin(), hello.queues.end());
    hello.queues.erase(std::unique(hello.queues.begin(), hello.queues.end()), hello.queues.end());
    hello.last_seen = now;

    // One endpoint, one live member: a new id there is the same process restarted.
    for (auto it = peers_.begin(); it != peers_.end(); ++it) {
        if (it->second.endpoint == hello.endpoint && it->first != hello.id) {
            if (replaced) *replaced = std::move(it->second);
            peers_.erase(it);
            ++epoch_;
            break;
        }
    }

    auto it = peers_.find(hello.id);
    if (it == peers_.end()) {
        peers_.emplace(hello.id, std::move(hello));
        ++epoch_;
        return Change::joined;
    }
    PeerInfo& known = it->second;
    known.last_seen = now;
    if (hello.version < known.version) return Change::none;  // a late, stale Hello
    const bool changed = known.queues != hello.queues || known.role != hello.role ||
                         known.endpoint != hello.endpoint || known.name != hello.name;
    hello.knows_us = known.knows_us;
    known = std::move(hello);
    if (!changed) return Change::none;
    ++epoch_;
    return Change::changed;
}

const PeerInfo* Membership::touch(std::string_view id, Clock::time_point now) {
    auto it = peers_.find(id);
    if (it == peers_.end()) return nullptr;
    it->second.last_seen = now;
    return &it->second;
}

const PeerInfo* Membership::confirm(std::string_view id) {
    auto it = peers_.find(id);
    if (it == peers_.end() || it->second.knows_us) return nullptr;
    it->second.knows_us = true;
    ++epoch_;
    return &it->second;
}

std::vector<PeerInfo> Membership::expire(Clock::time_point now, Clock::duration timeout) {
    std::vector<PeerInfo> gone;
    for (auto it = peers_.begin(); it != peers_.end();) {
        // A peer that beats slower than our timeout allows is given three of its beats.
        if (now - it->second.last_seen > std::max(timeout, 3 * it->second.heartbeat)) {
            gone.push_back(std::move(it->second));
            it = peers_.erase(it);
        } else {
            ++it;
        }
    }
    if (!gone.empty()) ++epoch_;
    return gone;
}

std::optional<PeerInfo> Membership::remove(std::string_view id) {
    auto it = peers_.find(id);
    if (it == peers_.end()) return std::nullopt;
    PeerInfo out = std::move(it->second);
    peers_.erase(it);
    ++epoch_;
    return out;
}

const PeerInfo* Membership::find(std::string_view id) const {
    auto it = peers_.find(id);
    return it == peers_.end() ? nullptr : &it->second;
}

const PeerInfo* Membership::find_by_endpoint(const std::string& endpoint) const {
    for (const auto& [id, peer] : peers_)
        if (peer.endpoint == endpoint) return &peer;
    return nullptr;
}

std::vector<std::string> Membership::consumers(const std::string& queue) const {
    std::vector<std::string> out;
    for (const auto& [id, peer] : peers_) {
        if (peer.role != wire::Role::Node || !peer.knows_us) continue;
        if (std::binary_search(peer.queues.begin(), peer.queues.end(), queue)) out.push_back(id);
    }
    return out;
}

}  // namespace adashta::mesh
