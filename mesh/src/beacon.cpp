#include "adashta/mesh/beacon.hpp"

#include <czmq.h>

namespace adashta::mesh {
namespace {

zactor_t* as_actor(void* p) {
    return static_cast<zactor_t*>(p);
}

}  // namespace

Result<std::unique_ptr<Beacon>> Beacon::open(const std::string& interface, std::uint16_t port) {
    // CZMQ would otherwise install its own SIGINT/SIGTERM handlers over the program's.
    zsys_handler_set(nullptr);
    zsys_set_interface(interface.c_str());
    zactor_t* actor = zactor_new(zbeacon, nullptr);
    if (!actor) return make_error(Errc::beacon_failed, "zbeacon actor did not start");
    zsock_send(actor, "si", "CONFIGURE", static_cast<int>(port));
    char* host = zstr_recv(actor);
    std::string address = host ? host : "";
    zstr_free(&host);
    if (address.empty()) {
        zactor_destroy(&actor);
        return make_error(Errc::beacon_failed,
                          "interface '" + interface + "' has no IPv4 broadcast address");
    }
    zsock_send(actor, "sb", "SUBSCRIBE", "ADASHTA1", static_cast<std::size_t>(8));
    std::unique_ptr<Beacon> beacon{new Beacon};
    beacon->actor_ = actor;
    beacon->address_ = std::move(address);
    return beacon;
}

Beacon::~Beacon() {
    zactor_t* actor = as_actor(actor_);
    if (actor) zactor_destroy(&actor);
}

void Beacon::publish(std::string_view payload, std::chrono::milliseconds interval) {
    zsock_send(as_actor(actor_), "sbi", "PUBLISH", payload.data(), payload.size(),
               static_cast<int>(interval.count()));
}

void* Beacon::socket() const {
    return zsock_resolve(as_actor(actor_));
}

std::optional<Beacon::Heard> Beacon::receive() {
    zsock_t* pipe = zactor_sock(as_actor(actor_));
    if (!(zsock_events(pipe) & ZMQ_POLLIN)) return std::nullopt;
    char* address = nullptr;
    zframe_t* content = nullptr;
    if (zsock_recv(as_actor(actor_), "sf", &address, &content) != 0) return std::nullopt;
    Heard heard;
    heard.address = address ? address : "";
    if (content)
        heard.payload.assign(reinterpret_cast<const char*>(zframe_data(content)),
                             zframe_size(content));
    zstr_free(&address);
    zframe_destroy(&content);
    return heard;
}

}  // namespace adashta::mesh
