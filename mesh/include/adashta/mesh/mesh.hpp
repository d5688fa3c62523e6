// The mesh actor: one thread that owns a node's sockets and membership. It binds a ROUTER,
// dials peers with DEALERs, finds peers through seeds, peer lists and (optionally) UDP
// beacons, keeps membership by HELLO and heartbeats, and hands every verified message to a
// MeshHandler on its own thread. Other threads talk to it only through post().
//
//   struct Printer : MeshHandler {
//       void on_peer_up(const PeerInfo& p) override { std::cout << p.name << " joined\n"; }
//   } printer;
//   Mesh mesh{{.seeds = {"tcp://127.0.0.1:7700"}}, printer};
//   if (auto started = mesh.start(); !started) die(started.error());
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "adashta/mesh/beacon.hpp"
#include "adashta/mesh/codec.hpp"
#include "adashta/mesh/keys.hpp"
#include "adashta/mesh/link.hpp"
#include "adashta/mesh/membership.hpp"
#include "adashta/mesh/transport.hpp"
#include "adashta/result.hpp"

namespace adashta::mesh {

struct MeshOptions {
    std::string bind = "tcp://127.0.0.1:*";  // where the ROUTER listens (* = any free port)
    std::string advertise;                   // endpoint peers dial; default: the bound one
    std::vector<std::string> seeds;          // endpoints dialed until they answer, forever
    std::string beacon_interface;            // UDP beacon on this interface; empty = off
    std::uint16_t beacon_port = 5670;        // UDP port of the beacon
    wire::Role role = wire::Role::Node;
    std::string name;                              // human label shown by `adashta peers`
    std::chrono::milliseconds heartbeat{1000};     // interval of heartbeats to every peer
    std::chrono::milliseconds peer_timeout{3000};  // silence after which a peer is gone
    SocketLimits limits{};                         // per-socket limits (transport.hpp)
    // CURVE (docs/security.md): this member's key pair — a key file (keys.hpp) or the Z85
    // secret key itself — and the allow-list of the keys that may join, with their roles.
    // Either both a key and an allow-list, or neither (no encryption, no checks).
    std::string key_file;    // FILE_secret written by `adashta keys new`
    std::string secret_key;  // or the secret key, Z85 (ADASHTA_MESH_SECRET)
    std::string allow_file;  // the allow-list
};

// Callbacks from the mesh thread. They must not block: the mesh waits for them.
class MeshHandler {
public:
    virtual ~MeshHandler() = default;
    virtual void on_peer_up(const PeerInfo& peer) { (void)peer; }
    virtual void on_peer_down(const PeerInfo& peer) { (void)peer; }
    // Its queues, name or role changed, or it has just shown that it knows us (knows_us).
    virtual void on_peer_changed(const PeerInfo& peer) { (void)peer; }
    virtual void on_deliver(const PeerInfo& from, const wire::Deliver& msg) {
        (void)from;
        (void)msg;
    }
    virtual void on_ack(const PeerInfo& from, const wire::Ack& ack) {
        (void)from;
        (void)ack;
    }
    virtual void on_request(const PeerInfo& from, const wire::Request& request) {
        (void)from;
        (void)request;
    }
    virtual void on_response(const PeerInfo& from, const wire::Response& response) {
        (void)from;
        (void)response;
    }
    virtual void on_client_event(const PeerInfo& from, const wire::ClientEvent& event) {
        (void)from;
        (void)event;
    }
    // About a millisecond after retry_soon(): a send refused earlier may go through now.
    virtual void on_retry() {}
};

struct MeshStats {
    std::atomic<std::uint64_t> received{0};        // verified messages
    std::atomic<std::uint64_t> invalid{0};         // frames that failed verification
    std::atomic<std::uint64_t> unknown_sender{0};  // data messages from non-members, dropped
    std::atomic<std::uint64_t> send_failed{0};     // sends refused (peer down or queue full)
    std::atomic<std::uint64_t> refused{0};         // Hellos refused: role, id or endpoint not
                                                   // the key's; frames whose key is not their id's
    std::atomic<std::uint64_t> denied{0};          // connections refused: unknown key, no CURVE
};

class Mesh {
public:
    Mesh(MeshOptions options, MeshHandler& handler);
    ~Mesh();
    Mesh(const Mesh&) = delete;
    Mesh& operator=(const Mesh&) = delete;

    // Binds, starts discovery and the mesh thread. Fails with bind_failed, bad_endpoint,
    // beacon_failed or bad_key (a key, allow-list or seed key that cannot be used); then
    // nothing is left running.
    Status start();
    // Says Bye to every peer and joins the thread. Idempotent; not from the mesh thread.
    void stop();

    // Runs task on the mesh thread, in order. Thread-safe; tasks posted after stop() are dropped.
    void post(std::function<void()> task);
    bool on_mesh_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

    // --- mesh thread only ---------------------------------------------------------------
    // Sends the finished message in fbb to a member; false when it is not a member, or its
    // connection is down or full (the caller decides whether to try another member).
    bool send(std::string_view peer_id, const flatbuffers::FlatBufferBuilder& fbb);
    // The link to a member, for sending from another thread (link.hpp); null when it is not
    // a member. The mesh closes it when the member leaves.
    std::shared_ptr<Link> link(std::string_view peer_id);
    // Calls the handler's on_retry() once, about a millisecond from now. For a handler that
    // holds messages a full peer refused (send() false) until its queue drains; asking again
    // before the call comes changes nothing.
    void retry_soon();
    // Announces the queues this node consumes (a new Hello to every peer).
    void set_queues(std::vector<std::string> queues);
    const Membership& members() const { return members_; }
    // A scratch builder for messages sent from the mesh thread.
    flatbuffers::FlatBufferBuilder& builder() { return fbb_; }

    // --- any thread, after start() ----------------------------------------------------------
    const std::string& id() const { return id_; }
    const std::string& endpoint() const { return endpoint_; }
    const MeshOptions& options() const { return options_; }
    const MeshStats& stats() const { return stats_; }
    // Whether the mesh is CURVE-encrypted with an allow-list.
    bool secure() const { return curve_.has_value(); }
    // This member's public key (Z85); empty without CURVE.
    std::string public_key() const { return curve_ ? curve_->public_key : std::string{}; }

private:
    // fuzz/mesh_harness.hpp feeds frames and beacons to receive() and hear() without sockets
    // or a thread, and points dial_instead_ at a loopback sink.
    friend struct MeshFuzzAccess;

    void run();
    void drain_router();
    void drain_tasks();
    void drain_beacon();
    void drain_zap();      // answers libzmq's ZAP requests: is this key allowed?
    void drain_monitor();  // logs handshakes the ROUTER refused (no CURVE, bad key)
    Status load_keys();    // key pair and allow-list from options_, before start
    // The CURVE key of the member at endpoint, as far as we know it; empty if unknown.
    std::string key_of(const std::string& endpoint) const;
    // Remembers that the member at endpoint has key. authoritative: the key authenticated
    // itself (a Hello) or the operator gave it (a seed), and replaces what was known; else
    // (a peer list, a beacon) it only fills in a key not known yet, so another member
    // cannot make us dial an endpoint with the wrong key.
    void learn_key(const std::string& endpoint, std::string_view key, bool authoritative);
    // Why a Hello with these fields, whose frame came with key, must be refused; empty if
    // it may go on. Checks the role against the key, and that the id and the endpoint are
    // not those of a live member with another key (or, without CURVE, the id another
    // endpoint's).
    std::string refusal(const wire::Hello& hello, const std::string& id,
                        const std::string& endpoint, std::string_view key) const;
    void tick(Clock::time_point now);
    void dial_unreached();

    // One frame the ROUTER read from routing id from: verifies it (from an aligned copy if
    // bytes are not 8-byte aligned) and hands it to handle(), or counts it invalid.
    void receive(std::string_view from, const void* bytes, std::size_t size,
                 Clock::time_point now, std::string_view key);
    // One beacon heard: a candidate endpoint to dial, unless it is ours, a member's, or (with
    // CURVE) carries a key the allow-list does not know.
    void hear(const Beacon::Heard& heard);
    // from is the frame's routing id, valid for the call; now is when the batch was read.
    // key: the CURVE key the frame's connection authenticated with (empty without CURVE).
    void handle(std::string_view from, const wire::Envelope& env, Clock::time_point now,
                std::string_view key);
    void handle_hello(const wire::Hello& hello, std::string_view key);
    void handle_heartbeat(std::string_view from, const wire::Heartbeat& beat);
    void handle_peer_list(const wire::PeerList& list);
    void handle_bye(std::string_view from);
    void handle_data(const PeerInfo& peer, const wire::Envelope& env);  // from a member
    void confirm(std::string_view id);  // the peer counts us as a member

    Link* dealer_for(const std::string& endpoint);   // made on first use
    void close_dealer(const std::string& endpoint);  // closes its Link and forgets it
    bool send_to_endpoint(const std::string& endpoint, const flatbuffers::FlatBufferBuilder& fbb);
    void send_hello(const std::string& endpoint, bool reply, std::string_view answer_to);
    void want(const std::string& endpoint, bool forever);
    bool reached(const std::string& endpoint) const;
    void drop_peer(const PeerInfo& peer);

    MeshOptions options_;
    MeshHandler& handler_;
    std::string id_;        // this node's id (routing id of its DEALERs)
    std::string endpoint_;  // advertised endpoint

    zmq::context_t ctx_{1};
    zmq::socket_t router_;
    std::map<std::string, std::shared_ptr<Link>, std::less<>> dealers_;  // by endpoint
    std::unique_ptr<Beacon> beacon_;  // null unless beacon_interface is set
    std::optional<KeyPair> curve_;      // this member's key pair; empty: no CURVE
    std::optional<AllowList> allowed_;  // set with curve_: the keys that may join
    zmq::socket_t zap_;                 // REP on inproc://zeromq.zap.01, with curve_
    zmq::socket_t monitor_;             // PAIR: the ROUTER's failed handshakes, with curve_
    std::map<std::string, std::string> endpoint_keys_;  // endpoint -> public key, as learned
    std::set<std::string> ignored_beacons_;  // keys whose beacons were refused (logged once)
    int wake_fd_ = -1;                // eventfd: post() -> mesh thread
    std::string dial_instead_;  // fuzzing only: every DEALER dials this (inproc) endpoint

    Membership members_;
    std::vector<std::string> queues_;  // what this node consumes, sorted
    std::uint32_t version_ = 1;        // of queues_
    struct Wanted {
        bool forever;             // a seed: dial it for as long as we run
        Clock::time_point since;  // first wanted, to give up on others
    };
    std::map<std::string, Wanted> wanted_;            // endpoints to dial until reached
    std::map<std::string, std::string> reached_via_;  // dialed endpoint -> member id that answered
    flatbuffers::FlatBufferBuilder fbb_{1024};
    std::vector<std::uint64_t> aligned_;         // aligned copy of a misaligned received frame
    std::optional<Clock::time_point> retry_at_;  // when on_retry() is due, if asked
    Clock::time_point read_up_to_{};             // every frame that arrived before it is read
    MeshStats stats_;

    std::mutex tasks_mutex_;  // guards tasks_ and accepting_
    std::vector<std::function<void()>> tasks_;
    bool accepting_ = false;  // post() takes tasks
    std::atomic<bool> running_{false};
    std::thread thread_;
};

}  // namespace adashta::mesh
