// UDP beacon discovery on one named interface (CZMQ zbeacon). Each node broadcasts
// "ADASHTA1 <node id> <endpoint>" and listens for the same from others; what it hears is
// only a candidate: membership is confirmed by a HELLO over the mesh.
//
// Off unless an interface is named: beacons must never leave a network the operator chose
// (the tests run them only inside a network namespace they create).
//
//   auto beacon = Beacon::open("veth0", 5670);
//   if (!beacon) return beacon.error();                 // no such interface, no broadcast
//   (*beacon)->publish("ADASHTA1 " + id + " " + endpoint, 1000ms);
//   poll((*beacon)->socket()) ... (*beacon)->receive();  // -> {ip, payload}
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "adashta/result.hpp"

namespace adashta::mesh {

class Beacon {
public:
    struct Heard {
        std::string address;  // sender's IP address
        std::string payload;  // what it broadcast
    };

    // Starts listening on interface:port. Errc::beacon_failed when the interface is missing
    // or has no broadcast address.
    static Result<std::unique_ptr<Beacon>> open(const std::string& interface, std::uint16_t port);
    ~Beacon();
    Beacon(const Beacon&) = delete;
    Beacon& operator=(const Beacon&) = delete;

    // This host's IPv4 address on the interface: what the node should advertise.
    const std::string& address() const { return address_; }
    // Broadcasts payload (at most 255 bytes) every interval until destroyed.
    void publish(std::string_view payload, std::chrono::milliseconds interval);
    // The ZeroMQ socket to poll for incoming beacons (a libzmq socket handle).
    void* socket() const;
    // One heard beacon, or nullopt when none is waiting.
    std::optional<Heard> receive();

private:
    Beacon() = default;
    void* actor_ = nullptr;  // zactor_t* running zbeacon
    std::string address_;    // see address()
};

}  // namespace adashta::mesh
