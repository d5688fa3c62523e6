#include "adashta/mesh/transport.hpp"

#include <charconv>

namespace adashta::mesh {
namespace {

int ms(std::chrono::milliseconds d) {
    return static_cast<int>(d.count());
}

bool valid_port(std::string_view port) {
    if (port == "*") return true;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    return ec == std::errc{} && end == port.data() + port.size() && value <= 65535;
}

}  // namespace

Result<std::string> normalize_endpoint(std::string_view text) {
    std::string_view rest = text;
    if (rest.starts_with("tcp://"))
        rest.remove_prefix(6);
    else if (rest.find("://") != std::string_view::npos)
        return make_error(Errc::bad_endpoint, std::string{text} + ": only tcp:// is supported");
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return make_error(Errc::bad_endpoint, std::string{text} + ": expected HOST:PORT");
    std::string_view port = rest.substr(colon + 1);
    if (port == "0") port = "*";
    if (!valid_port(port))
        return make_error(Errc::bad_endpoint, std::string{text} + ": port must be 0-65535 or *");
    return "tcp://" + std::string{rest.substr(0, colon)} + ":" + std::string{port};
}

Result<zmq::socket_t> bind_router(zmq::context_t& ctx, const std::string& endpoint,
                                  const SocketLimits& limits, const KeyPair* curve) {
    zmq::socket_t router{ctx, zmq::socket_type::router};
    if (curve) {
        router.set(zmq::sockopt::curve_server, 1);
        router.set(zmq::sockopt::curve_secretkey, curve->secret_key);
        router.set(zmq::sockopt::zap_domain, kZapDomain);
    }
    router.set(zmq::sockopt::router_mandatory, 1);
    router.set(zmq::sockopt::router_handover, 1);
    router.set(zmq::sockopt::maxmsgsize, limits.max_message_size);
    router.set(zmq::sockopt::rcvhwm, limits.high_water_mark);
    router.set(zmq::sockopt::heartbeat_ivl, ms(limits.heartbeat));
    router.set(zmq::sockopt::heartbeat_timeout, ms(limits.timeout));
    router.set(zmq::sockopt::linger, 0);
    try {
        router.bind(endpoint);
    } catch (const zmq::error_t& e) {
        return make_error(Errc::bind_failed, endpoint + ": " + e.what());
    }
    return router;
}

std::string bound_endpoint(zmq::socket_t& socket) {
    return socket.get(zmq::sockopt::last_endpoint);
}

Result<zmq::socket_t> connect_dealer(zmq::context_t& ctx, std::string_view self_id,
                                     const std::string& endpoint, const SocketLimits& limits,
                                     const KeyPair* curve, std::string_view server_key) {
    zmq::socket_t dealer{ctx, zmq::socket_type::dealer};
    if (curve) {
        if (!is_z85_key(server_key))
            return make_error(Errc::bad_key, endpoint + ": the public key of the member there is unknown");
        dealer.set(zmq::sockopt::curve_serverkey, std::string{server_key});
        dealer.set(zmq::sockopt::curve_publickey, curve->public_key);
        dealer.set(zmq::sockopt::curve_secretkey, curve->secret_key);
    }
    dealer.set(zmq::sockopt::routing_id, zmq::buffer(self_id.data(), self_id.size()));
    dealer.set(zmq::sockopt::immediate, 1);
    dealer.set(zmq::sockopt::sndhwm, limits.high_water_mark);
    dealer.set(zmq::sockopt::maxmsgsize, limits.max_message_size);
    dealer.set(zmq::sockopt::heartbeat_ivl, ms(limits.heartbeat));
    dealer.set(zmq::sockopt::heartbeat_timeout, ms(limits.timeout));
    dealer.set(zmq::sockopt::reconnect_ivl, 100);
    dealer.set(zmq::sockopt::reconnect_ivl_max, 1000);
    dealer.set(zmq::sockopt::linger, 0);
    try {
        dealer.connect(endpoint);
    } catch (const zmq::error_t& e) {
        return make_error(Errc::bad_endpoint, endpoint + ": " + e.what());
    }
    return dealer;
}

}  // namespace adashta::mesh
