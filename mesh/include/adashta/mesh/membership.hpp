// Who is in the mesh: the live peers of one node, what each consumes, and when each was
// last heard from. Owned by the mesh thread; not thread-safe.
//
//   Membership members;
//   members.apply_hello(hello_fields, now);       // a peer joined or changed
//   for (auto& gone : members.expire(now, 3s))   // silent peers leave
//       on_peer_down(gone);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/mesh_generated.h"

namespace adashta::mesh {

using Clock = std::chrono::steady_clock;

struct PeerInfo {
    std::string id;        // node id, the peer's routing id
    std::string endpoint;  // where its ROUTER listens
    std::string name;      // its human label, may be empty
    wire::Role role = wire::Role::Node;
    std::vector<std::string> queues;  // sorted: queues it consumes
    std::uint32_t version = 0;        // of its queue set, from Hello
    Clock::time_point last_seen{};    // last message of any kind from it
    Clock::duration heartbeat{};      // its heartbeat interval, from Hello (0: unknown)
    bool knows_us = false;            // it has shown it counts us as a member (a heartbeat, an
                                      // answering Hello, data); until then it would drop what
                                      // we send, so nothing is routed to it
    wire::Reads reads{};              // what it reads beyond the first protocol, from Hello
    std::string key;                  // its CURVE public key (Z85), the one its connection
                                      // authenticated with; empty without CURVE
};

class Membership {
public:
    enum class Change { none, joined, changed };

    // Records a Hello. A new id is a join; a known id with other queues or role is a change.
    // A different id at the endpoint of a known peer means that peer restarted: the old id is
    // removed and returned in replaced.
    Change apply_hello(PeerInfo hello, Clock::time_point now, std::optional<PeerInfo>* replaced);
    // Marks any message from a known peer and returns it; nullptr when id is not a member.
    // The mesh calls it once per received frame, so it is the only lookup a frame costs.
    const PeerInfo* touch(std::string_view id, Clock::time_point now);
    // Records that the peer counts us as a member. Returns the peer when that is news (the
    // epoch moves, so rings include it from now on), else nullptr.
    const PeerInfo* confirm(std::string_view id);
    // Removes peers silent for longer than timeout, or three of their own heartbeat
    // intervals if that is longer, and returns them.
    std::vector<PeerInfo> expire(Clock::time_point now, Clock::duration timeout);
    // Removes one peer (it said Bye); nullopt if it was not a member.
    std::optional<PeerInfo> remove(std::string_view id);

    // Lookups take a view, so a routing id read from a frame needs no std::string.
    const PeerInfo* find(std::string_view id) const;
    const PeerInfo* find_by_endpoint(const std::string& endpoint) const;
    const std::map<std::string, PeerInfo, std::less<>>& peers() const { return peers_; }
    // Ids of live server nodes (role Node) that consume queue and know us, sorted.
    std::vector<std::string> consumers(const std::string& queue) const;
    // Bumps on every join, leave and change; lets callers cache what they derive (rings).
    std::uint64_t epoch() const { return epoch_; }

private:
    std::map<std::string, PeerInfo, std::less<>> peers_;  // by node id; finds by string_view
    std::uint64_t epoch_ = 0;                             // see epoch()
};

}  // namespace adashta::mesh
