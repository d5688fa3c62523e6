// adashta::mesh::Link — the DEALER a mesh member sends to one endpoint through, usable from
// any thread. ZeroMQ sockets are not thread-safe, but one may be used by many threads when
// every use is behind a full memory barrier; a Link puts every use of its socket behind its
// own mutex. So a thread that has an answer ready (the edge's store thread) or a request to
// make (a node's caller) sends it itself instead of posting it to the mesh thread, which
// saves a thread wake-up each way.
//
//   std::shared_ptr<Link> link = mesh.link(peer_id);      // on the mesh thread
//   std::thread{[link] { if (!link->send(fbb)) give_up(); }};  // on any thread
//
// The Mesh owns the Links it makes and closes one when its member leaves or the mesh stops;
// a copy kept past that only sees send() fail. Links only send: the mesh never reads a
// DEALER (answers come in on its ROUTER).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include <flatbuffers/flatbuffers.h>
#include <zmq.hpp>

namespace adashta::mesh {

class Link {
public:
    // send_failed counts sends refused while open; it must live as long as the Link is open
    // (Mesh::stats: the Mesh closes its Links before it goes).
    Link(zmq::socket_t dealer, std::atomic<std::uint64_t>& send_failed)
        : dealer_(std::move(dealer)), send_failed_(send_failed) {}
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

    // Sends the finished message in fbb without blocking. False when the link is closed or
    // its connection is down or full (ZMQ_IMMEDIATE, high-water mark). Thread-safe.
    bool send(const flatbuffers::FlatBufferBuilder& fbb);
    // Sends what is queued for at most linger (ZeroMQ's linger), then closes; later sends
    // fail. Idempotent, thread-safe.
    void close(std::chrono::milliseconds linger = std::chrono::milliseconds{0});

private:
    std::mutex mutex_;      // guards dealer_: every use of the socket holds it
    zmq::socket_t dealer_;  // closed once close() ran
    std::atomic<std::uint64_t>& send_failed_;
};

}  // namespace adashta::mesh
