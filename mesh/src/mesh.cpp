#include "adashta/mesh/mesh.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <array>
#include <cstring>

#include "adashta/ids.hpp"
#include "adashta/log.hpp"

namespace adashta::mesh {
namespace {

constexpr auto kTick = std::chrono::milliseconds{100};    // dial and expiry granularity
constexpr auto kRetry = std::chrono::milliseconds{1};     // retry_soon()
constexpr auto kRedial = std::chrono::milliseconds{250};  // between Hellos to one endpoint
constexpr auto kGiveUp = std::chrono::seconds{30};        // on a non-seed endpoint
constexpr int kMaxBatch = 4096;                           // messages per drain, for fairness
constexpr std::string_view kBeaconPrefix = "ADASHTA1 ";
// What this build reads beyond the first protocol, told to every peer in Hello.
const wire::Reads kReads = wire::Reads::Responses | wire::Reads::Requests;

// "tcp://0.0.0.0:7700" cannot be dialed; swap in a host that can.
std::string with_host(const std::string& endpoint, const std::string& host) {
    const auto colon = endpoint.rfind(':');
    return "tcp://" + host + endpoint.substr(colon);
}

std::string host_of(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    return endpoint.substr(6, colon - 6);
}

bool is_wildcard(const std::string& host) {
    return host == "*" || host == "0.0.0.0";
}

}  // namespace

Mesh::Mesh(MeshOptions options, MeshHandler& handler)
    : options_(std::move(options)), handler_(handler), id_(new_node_id()) {}

Mesh::~Mesh() {
    stop();
}

Status Mesh::load_keys() {
    const bool has_key = !options_.key_file.empty() || !options_.secret_key.empty();
    if (!has_key && options_.allow_file.empty()) return {};
    if (!has_key)
        return make_error(Errc::bad_key, "a mesh allow-list (" + options_.allow_file +
                                             ") needs this member's own key too (--mesh-key)");
    if (options_.allow_file.empty())
        return make_error(Errc::bad_key,
                          "a mesh key needs the allow-list of the members' keys (--mesh-allow)");
    auto pair = options_.key_file.empty() ? KeyPair::from_secret(options_.secret_key)
                                          : KeyPair::load(options_.key_file);
    if (!pair) return pair.error();
    auto allowed = AllowList::load(options_.allow_file);
    if (!allowed) return allowed.error();
    const AllowedKey* own = allowed->find(pair->public_key);
    if (!own || !own->may(options_.role))
        return make_error(Errc::bad_key,
                          "this member's own key " + pair->public_key + " is not allowed as " +
                              (options_.role == wire::Role::Edge   ? "edge"
                               : options_.role == wire::Role::Node ? "node"
                                                                   : "tool") +
                              " in " + options_.allow_file + "; add it there");
    curve_ = std::move(*pair);
    allowed_ = std::move(*allowed);
    return {};
}

std::string Mesh::key_of(const std::string& endpoint) const {
    if (auto it = endpoint_keys_.find(endpoint); it != endpoint_keys_.end()) return it->second;
    if (allowed_)
        if (const AllowedKey* k = allowed_->find_by_endpoint(endpoint)) return k->key;
    return {};
}

void Mesh::learn_key(const std::string& endpoint, std::string_view key, bool authoritative) {
    if (key.empty()) return;
    if (!authoritative && !key_of(endpoint).empty()) return;
    auto [it, inserted] = endpoint_keys_.try_emplace(endpoint, key);
    if (inserted || it->second == key) return;
    // A new key at a known endpoint (the member there restarted with another key): the
    // DEALER made for the old key can never complete its handshake.
    it->second = key;
    close_dealer(endpoint);
}

Status Mesh::start() {
    assert(!running_ && "Mesh::start called twice");
    if (auto keys = load_keys(); !keys) return keys;
    auto bind = normalize_endpoint(options_.bind);
    if (!bind) return bind.error();
    std::string bind_at = *bind;

    if (!options_.beacon_interface.empty()) {
        auto beacon = Beacon::open(options_.beacon_interface, options_.beacon_port);
        if (!beacon) return beacon.error();
        beacon_ = std::move(*beacon);
        // Peers find us on the beacon's interface, so we must listen there: a loopback bind
        // moves to the interface's address; a wildcard bind already covers it (and keeps
        // loopback, so local members can still join) and advertises that address.
        const std::string host = host_of(bind_at);
        if (host == "127.0.0.1" || host == "localhost")
            bind_at = with_host(bind_at, beacon_->address());
    }

    if (curve_) {
        // The ZAP handler must be bound before the first connection arrives: libzmq asks
        // inproc://zeromq.zap.01 of the ROUTER's context about every CURVE handshake.
        zap_ = zmq::socket_t{ctx_, zmq::socket_type::rep};
        zap_.set(zmq::sockopt::linger, 0);
        try {
            zap_.bind("inproc://zeromq.zap.01");
        } catch (const zmq::error_t& e) {
            return make_error(Errc::bind_failed, std::string{"ZAP handler: "} + e.what());
        }
    }
    auto router = bind_router(ctx_, bind_at, options_.limits, curve_ ? &*curve_ : nullptr);
    if (!router) {
        beacon_.reset();
        return router.error();
    }
    router_ = std::move(*router);
    if (curve_) {
        // Handshakes that fail before ZAP (a peer without CURVE) are seen only here.
        const std::string monitor_at = "inproc://adashta-mesh-monitor-" + id_;
        zmq_socket_monitor(router_.handle(), monitor_at.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
        monitor_ = zmq::socket_t{ctx_, zmq::socket_type::pair};
        monitor_.set(zmq::sockopt::linger, 0);
        monitor_.connect(monitor_at);
    }
    endpoint_ = bound_endpoint(router_);
    if (!options_.advertise.empty()) {
        auto advertised = normalize_endpoint(options_.advertise);
        if (!advertised) return advertised.error();
        endpoint_ = *advertised;
    } else if (is_wildcard(host_of(endpoint_))) {
        endpoint_ = with_host(endpoint_, beacon_ ? beacon_->address() : "127.0.0.1");
    }

    for (const auto& seed : options_.seeds) {
        auto split = split_seed(seed);
        if (!split) return split.error();
        auto normalized = normalize_endpoint(split->first);
        if (!normalized) return normalized.error();
        learn_key(*normalized, split->second, true);
        if (curve_ && key_of(*normalized).empty())
            return make_error(Errc::bad_key,
                              "seed " + *normalized +
                                  ": its public key is unknown; list its endpoint in " +
                                  options_.allow_file + ", or write the seed as " + *normalized +
                                  "|KEY");
        if (*normalized != endpoint_) want(*normalized, true);
    }

    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (beacon_)
        beacon_->publish(std::string{kBeaconPrefix} + id_ + " " + endpoint_ +
                             (curve_ ? " " + curve_->public_key : std::string{}),
                         std::chrono::milliseconds{500});
    {
        std::lock_guard lock{tasks_mutex_};
        accepting_ = true;
    }
    running_ = true;
    thread_ = std::thread{[this] { run(); }};
    log::debug("mesh", "node " + id_ + " listening on " + endpoint_);
    return {};
}

void Mesh::stop() {
    assert(!on_mesh_thread() && "Mesh::stop from the mesh thread would deadlock");
    {
        std::lock_guard lock{tasks_mutex_};
        accepting_ = false;
    }
    if (!running_.exchange(false)) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
    // The thread is gone, so its sockets are ours now: say goodbye, give it time to leave.
    encode_bye(fbb_, id_);
    for (const auto& [id, peer] : members_.peers()) {
        if (auto* dealer = dealer_for(peer.endpoint)) {
            dealer->send(fbb_);
            dealer->close(std::chrono::milliseconds{200});
        }
    }
    // Links handed out may outlive the mesh: closed, they only refuse sends.
    for (auto& [endpoint, dealer] : dealers_) dealer->close();
    dealers_.clear();
    router_.close();
    if (monitor_) monitor_.close();
    if (zap_) zap_.close();
    beacon_.reset();
    ::close(wake_fd_);
    wake_fd_ = -1;
}

void Mesh::post(std::function<void()> task) {
    bool was_empty = false;
    {
        std::lock_guard lock{tasks_mutex_};
        if (!accepting_) return;
        was_empty = tasks_.empty();
        tasks_.push_back(std::move(task));
    }
    // One wake-up per batch: the mesh thread takes every queued task when it wakes.
    if (was_empty) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }
}

void Mesh::run() {
    std::vector<zmq::pollitem_t> items{
        {router_.handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, wake_fd_, ZMQ_POLLIN, 0},
    };
    const std::size_t beacon_at = items.size();
    if (beacon_) items.push_back({beacon_->socket(), 0, ZMQ_POLLIN, 0});
    const std::size_t zap_at = items.size();
    if (curve_) {
        items.push_back({zap_.handle(), 0, ZMQ_POLLIN, 0});
        items.push_back({monitor_.handle(), 0, ZMQ_POLLIN, 0});
    }

    auto next_tick = Clock::now();
    while (running_) {
        const auto wake = retry_at_ ? std::min(next_tick, *retry_at_) : next_tick;
        // Rounded up: rounding down would spin for the last fraction of a millisecond.
        const auto wait =
            std::max(std::chrono::milliseconds{0},
                     std::chrono::ceil<std::chrono::milliseconds>(wake - Clock::now()));
        try {
            zmq::poll(items.data(), items.size(), wait);
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) log::error("mesh", std::string{"poll failed: "} + e.what());
            continue;
        }
        const bool router_ready = items[0].revents & ZMQ_POLLIN;
        if (router_ready) drain_router();
        if (items[1].revents & ZMQ_POLLIN) drain_tasks();
        if (beacon_ && (items[beacon_at].revents & ZMQ_POLLIN)) drain_beacon();
        if (curve_ && (items[zap_at].revents & ZMQ_POLLIN)) drain_zap();
        if (curve_ && (items[zap_at + 1].revents & ZMQ_POLLIN)) drain_monitor();
        const auto now = Clock::now();
        if (!router_ready) read_up_to_ = now;  // nothing waited: every frame before now is read
        if (retry_at_ && now >= *retry_at_) {
            retry_at_.reset();  // the handler asks again if it still waits
            handler_.on_retry();
        }
        if (now >= next_tick) {
            tick(now);
            next_tick = now + kTick;
        }
    }
}

void Mesh::retry_soon() {
    assert(on_mesh_thread() || !running_);
    if (!retry_at_) retry_at_ = Clock::now() + kRetry;
}

void Mesh::drain_tasks() {
    std::uint64_t count;
    [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof count);
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard lock{tasks_mutex_};
        batch.swap(tasks_);
    }
    for (auto& task : batch) task();
}

void Mesh::drain_router() {
    zmq::message_t from;
    zmq::message_t frame;
    // One clock read per batch: last_seen only needs to be good to a heartbeat, and a batch
    // takes milliseconds at most.
    const auto now = Clock::now();
    for (int i = 0; i < kMaxBatch; ++i) {
        if (!router_.recv(from, zmq::recv_flags::dontwait)) {
            read_up_to_ = now;  // drained: what arrived before the batch began is read
            return;
        }
        if (!from.more() || !router_.recv(frame, zmq::recv_flags::dontwait)) {
            ++stats_.invalid;
            continue;
        }
        bool extra = false;
        while (frame.more()) {  // our peers send one frame; anything more is not ours
            extra = true;
            if (!router_.recv(frame, zmq::recv_flags::dontwait)) break;
        }
        if (extra) {
            ++stats_.invalid;
            log::debug("mesh", "dropped a frame that is not a valid mesh envelope");
            continue;
        }
        // With CURVE every frame carries the key its connection authenticated with (the
        // User-Id our ZAP handler gave it): that, not the routing id, says who sent it.
        std::string_view key;
        if (curve_) {
            const char* user_id = zmq_msg_gets(frame.handle(), "User-Id");
            key = user_id ? std::string_view{user_id} : std::string_view{};
        }
        receive(std::string_view{from.data<char>(), from.size()}, frame.data(), frame.size(), now,
                key);
    }
}

void Mesh::receive(std::string_view from, const void* bytes, std::size_t size,
                   Clock::time_point now, std::string_view key) {
    // ZeroMQ stores small messages inside zmq_msg_t, at an offset that need not suit
    // FlatBuffers, which reads 4- and 8-byte fields in place: read those from an aligned copy.
    // An empty frame has nothing to copy (and the copy would have no buffer to go to).
    if (size != 0 && reinterpret_cast<std::uintptr_t>(bytes) % alignof(std::uint64_t) != 0) {
        aligned_.resize((size + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
        std::memcpy(aligned_.data(), bytes, size);
        bytes = aligned_.data();
    }
    const wire::Envelope* env = open_envelope(bytes, size);
    if (!env) {
        ++stats_.invalid;
        log::debug("mesh", "dropped a frame that is not a valid mesh envelope");
        return;
    }
    ++stats_.received;
    handle(from, *env, now, key);
}

void Mesh::drain_beacon() {
    while (auto heard = beacon_->receive()) hear(*heard);
}

void Mesh::hear(const Beacon::Heard& heard) {
    std::string_view payload = heard.payload;
    if (!payload.starts_with(kBeaconPrefix)) return;
    payload.remove_prefix(kBeaconPrefix.size());
    const auto space = payload.find(' ');
    if (space == std::string_view::npos) return;
    const std::string id{payload.substr(0, space)};
    std::string_view rest = payload.substr(space + 1);
    std::string_view key;
    if (const auto key_at = rest.find(' '); key_at != std::string_view::npos) {
        key = rest.substr(key_at + 1);
        rest = rest.substr(0, key_at);
    }
    auto endpoint = normalize_endpoint(rest);
    if (id == id_ || !endpoint || *endpoint == endpoint_) return;
    if (curve_) {
        const AllowedKey* allowed = allowed_->find(key);
        if (!allowed) {
            ++stats_.denied;
            if (ignored_beacons_.insert(std::string{key}).second)
                log::warn("mesh", "ignored beacons from " + heard.address + " (" + *endpoint +
                                      "): " +
                                      (key.empty() ? std::string{"they carry no key"}
                                                   : "key " + std::string{key} +
                                                         " is not in the allow-list"));
            return;
        }
        learn_key(*endpoint, key, false);
    }
    if (members_.find(id)) return;
    want(*endpoint, false);
}

void Mesh::drain_zap() {
    // Our own ZAP handler rather than CZMQ's zauth: zauth answers a CURVE request with an
    // empty User-Id and no metadata, so a frame could not say which key sent it, and it has
    // no roles per key nor log lines we could word. The keys themselves are CZMQ zcerts.
    // RFC 27: version, request id, domain, address, routing id, mechanism, credentials; the
    // answer: version, request id, status code, status text, user id, metadata. Our answer
    // makes the client's public key the User-Id of every frame of that connection.
    for (;;) {
        std::vector<zmq::message_t> request;
        zmq::message_t part;
        if (!zap_.recv(part, zmq::recv_flags::dontwait)) return;
        request.push_back(std::move(part));
        while (request.back().more()) {
            zmq::message_t next;
            if (!zap_.recv(next)) break;
            request.push_back(std::move(next));
        }
        auto text = [&](std::size_t i) {
            return i < request.size() ? request[i].to_string() : std::string{};
        };
        const std::string mechanism = text(5);
        std::string key;
        if (mechanism == "CURVE" && request.size() >= 7 && request[6].size() == 32) {
            char z85[41] = {};
            zmq_z85_encode(z85, request[6].data<std::uint8_t>(), 32);
            key = z85;
        }
        const AllowedKey* allowed = key.empty() ? nullptr : allowed_->find(key);
        if (!allowed) {
            ++stats_.denied;
            log::warn("mesh", "refused a mesh connection from " + text(3) + ": " +
                                  (key.empty() ? "it does not speak CURVE"
                                               : "key " + key + " is not in the allow-list (" +
                                                     options_.allow_file + ")"));
        }
        const std::array<std::string, 6> reply{
            "1.0", text(1), allowed ? "200" : "400", allowed ? "OK" : "key not allowed",
            allowed ? key : std::string{}, std::string{}};
        for (std::size_t i = 0; i < reply.size(); ++i)
            zap_.send(zmq::buffer(reply[i]),
                      i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
}

void Mesh::drain_monitor() {
    for (;;) {
        zmq::message_t event;
        if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
        zmq::message_t address;
        if (event.more()) (void)monitor_.recv(address);
        if (event.size() < 6) continue;
        std::uint16_t kind = 0;
        std::memcpy(&kind, event.data(), sizeof kind);
        if (kind != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && kind != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            continue;
        ++stats_.denied;
        // A refused peer redials every few hundred ms: one line per 10 s, with the count.
        static thread_local Clock::time_point last{};
        static thread_local std::uint64_t since_last = 0;
        ++since_last;
        if (Clock::now() - last < std::chrono::seconds{10}) continue;
        last = Clock::now();
        log::warn("mesh", "refused " + std::to_string(since_last) + " mesh connection(s) on " +
                              address.to_string() +
                              ": the handshake was not CURVE with this member's key (a member "
                              "without --mesh-key, or one that dialed with another server key)");
        since_last = 0;
    }
}

void Mesh::tick(Clock::time_point now) {
    static thread_local Clock::time_point last_heartbeat{};
    if (now - last_heartbeat >= options_.heartbeat) {
        last_heartbeat = now;
        encode_heartbeat(fbb_, id_, endpoint_, version_);
        for (const auto& [id, peer] : members_.peers()) send_to_endpoint(peer.endpoint, fbb_);
    }
    // Silence is judged up to the last moment before which every frame was read, not up to
    // now: after a long batch (big frames, a slow machine) a peer's heartbeats may be
    // waiting unread behind it, and it is not silent.
    for (const auto& gone : members_.expire(std::min(now, read_up_to_), options_.peer_timeout)) {
        log::info("mesh", "peer " + (gone.name.empty() ? gone.id : gone.name) + " at " +
                              gone.endpoint + " went silent; removed");
        drop_peer(gone);
    }
    dial_unreached();
}

void Mesh::dial_unreached() {
    static thread_local std::map<std::string, Clock::time_point> last_dial;
    const auto now = Clock::now();
    for (auto it = wanted_.begin(); it != wanted_.end();) {
        const std::string& endpoint = it->first;
        if (reached(endpoint)) {
            it = it->second.forever ? std::next(it) : wanted_.erase(it);
            continue;
        }
        if (!it->second.forever && now - it->second.since > kGiveUp) {
            log::debug("mesh", "gave up dialing " + endpoint);
            close_dealer(endpoint);
            last_dial.erase(endpoint);
            it = wanted_.erase(it);
            continue;
        }
        auto& last = last_dial[endpoint];
        if (now - last >= kRedial) {
            last = now;
            send_hello(endpoint, true, {});
        }
        ++it;
    }
}

void Mesh::handle(std::string_view from, const wire::Envelope& env, Clock::time_point now,
                  std::string_view key) {
    if (env.body_type() == wire::Body::Hello) {
        const auto* hello = env.body_as_Hello();
        if (view(hello->node_id()) != from) {
            ++stats_.invalid;  // a Hello must come from the node it names
            return;
        }
        members_.touch(from, now);
        handle_hello(*hello, key);
        return;
    }
    // Anything else from a member must come over a connection with that member's key: a
    // member that takes another's routing id is not that member.
    if (curve_) {
        const PeerInfo* known = members_.find(from);
        if (known && known->key != key) {
            ++stats_.refused;
            log::debug("mesh", "dropped a frame sent as " + known->id + " by key " +
                                   std::string{key} + " (the member has key " + known->key + ")");
            return;
        }
    }
    const PeerInfo* peer = members_.touch(from, now);  // the frame's only membership lookup
    switch (env.body_type()) {
        case wire::Body::Hello:
            return;  // handled above
        case wire::Body::Heartbeat:
            handle_heartbeat(from, *env.body_as_Heartbeat());
            return;
        case wire::Body::PeerList:
            handle_peer_list(*env.body_as_PeerList());
            return;
        case wire::Body::Bye:
            handle_bye(from);
            return;
        case wire::Body::Deliver:
        case wire::Body::ClientEvent:
        case wire::Body::Ack:
        case wire::Body::Request:
        case wire::Body::Response:
        case wire::Body::Responses:
        case wire::Body::Requests: {
            if (!peer) {
                ++stats_.unknown_sender;
                return;
            }
            if (!peer->knows_us) confirm(from);
            handle_data(*peer, env);
            return;
        }
        case wire::Body::NONE:
            break;
    }
    ++stats_.invalid;
}

void Mesh::handle_data(const PeerInfo& peer, const wire::Envelope& env) {
    switch (env.body_type()) {
        case wire::Body::Deliver:
            return handler_.on_deliver(peer, *env.body_as_Deliver());
        case wire::Body::ClientEvent:
            return handler_.on_client_event(peer, *env.body_as_ClientEvent());
        case wire::Body::Ack:
            return handler_.on_ack(peer, *env.body_as_Ack());
        case wire::Body::Request:
            return handler_.on_request(peer, *env.body_as_Request());
        case wire::Body::Response:
            return handler_.on_response(peer, *env.body_as_Response());
        case wire::Body::Responses:
            if (const auto* items = env.body_as_Responses()->items())
                for (const wire::Response* response : *items) handler_.on_response(peer, *response);
            return;
        case wire::Body::Requests:
            if (const auto* items = env.body_as_Requests()->items())
                for (const wire::Request* request : *items) handler_.on_request(peer, *request);
            return;
        default:
            assert(false && "handle_data: not a data message");
    }
}

std::string Mesh::refusal(const wire::Hello& hello, const std::string& id,
                          const std::string& endpoint, std::string_view key) const {
    const PeerInfo* same_id = members_.find(id);
    if (!curve_) {
        // No keys to bind an id to: an id keeps the endpoint it announced while it lives.
        if (same_id && same_id->endpoint != endpoint)
            return "its id " + id + " is live at " + same_id->endpoint;
        return {};
    }
    const AllowedKey* allowed = allowed_->find(key);
    if (!allowed) return "key " + std::string{key} + " is not in the allow-list";
    if (!allowed->may(hello.role()))
        return "key " + std::string{key} + (allowed->name.empty() ? "" : " (" + allowed->name + ")") +
               " may join as " + allowed->roles() + " only";
    if (view(hello.public_key()) != key)
        return "it names key " + std::string{view(hello.public_key())} +
               " but its connection authenticated with " + std::string{key};
    if (same_id && same_id->key != key)
        return "its id " + id + " belongs to the live member with key " + same_id->key;
    const PeerInfo* same_endpoint = members_.find_by_endpoint(endpoint);
    if (same_endpoint && same_endpoint->key != key)
        return "endpoint " + endpoint + " belongs to the live member with key " +
               same_endpoint->key;
    return {};
}

void Mesh::handle_hello(const wire::Hello& hello, std::string_view key) {
    auto endpoint = normalize_endpoint(view(hello.endpoint()));
    const std::string id{view(hello.node_id())};
    if (!endpoint || id.empty()) {
        ++stats_.invalid;
        return;
    }
    if (id == id_) return;  // we dialed ourselves through some alias of our address
    if (const std::string why = refusal(hello, id, *endpoint, key); !why.empty()) {
        ++stats_.refused;
        // Once per id and reason would be kinder to logs; a refused member retries every
        // 250 ms, so say it at most once a second per id.
        static thread_local std::map<std::string, Clock::time_point> said;
        const auto now = Clock::now();
        // The sender picks ids and so reasons: past a few, forget those said over a second
        // ago, or a stream of Hellos with new ids grows the map for as long as we run.
        if (said.size() >= 1024)
            std::erase_if(said, [&](const auto& entry) {
                return now - entry.second > std::chrono::seconds{1};
            });
        auto& last = said[id + why];
        if (now - last > std::chrono::seconds{1}) {
            last = now;
            log::warn("mesh", "refused a Hello from " + *endpoint + " (id " + id + ", role " +
                                  wire::EnumNameRole(hello.role()) + "): " + why);
        }
        return;
    }
    learn_key(*endpoint, key, true);
    PeerInfo info;
    info.id = id;
    info.endpoint = *endpoint;
    info.name = view(hello.name());
    info.role = hello.role();
    info.version = hello.version();
    info.heartbeat = std::chrono::milliseconds{hello.heartbeat_ms()};
    info.reads = hello.reads();
    info.key = key;
    if (hello.queues())
        for (const auto* q : *hello.queues()) info.queues.emplace_back(view(q));

    std::optional<PeerInfo> replaced;
    const auto change = members_.apply_hello(info, Clock::now(), &replaced);
    if (replaced) {
        log::info("mesh", "peer at " + replaced->endpoint + " restarted");
        handler_.on_peer_down(*replaced);
    }
    if (!view(hello.answer_to()).empty()) reached_via_[std::string{view(hello.answer_to())}] = id;

    // A Hello that answers ours means its sender has taken us in.
    const bool answer = !hello.reply();
    const PeerInfo& peer = *members_.find(id);
    if (change == Membership::Change::joined) {
        if (answer) members_.confirm(id);
        log::debug("mesh", "peer " + id + " (" + peer.name + ") joined from " + peer.endpoint);
        handler_.on_peer_up(peer);
        // Tell it at once that we have taken it in, rather than at its next heartbeat: it
        // routes nothing to us until it knows.
        if (answer) {
            encode_heartbeat(fbb_, id_, endpoint_, version_);
            send_to_endpoint(peer.endpoint, fbb_);
        }
    } else {
        if (change == Membership::Change::changed) handler_.on_peer_changed(peer);
        if (answer) confirm(id);
    }
    // A peer that dials us hears back who we are and whom we know, so joining one member is
    // enough. It dials until our answer arrives, and our first answer can be dropped while
    // the connection back to it is still being made; so every answer carries the list.
    if (change == Membership::Change::joined || hello.reply()) {
        std::vector<std::string> endpoints;
        std::vector<std::string> keys;
        for (const auto& [other_id, other] : members_.peers())
            if (other_id != id) {
                endpoints.push_back(other.endpoint);
                if (curve_) keys.push_back(other.key);
            }
        if (hello.reply()) send_hello(peer.endpoint, false, view(hello.via()));
        if (!endpoints.empty()) {
            encode_peer_list(fbb_, endpoints, keys);
            send_to_endpoint(peer.endpoint, fbb_);
        }
    }
}

void Mesh::handle_heartbeat(std::string_view from, const wire::Heartbeat& beat) {
    if (from == id_) return;
    const PeerInfo* peer = members_.find(from);
    if (!peer) {
        // It knows us but we dropped it (or never heard its Hello): ask who it is.
        auto endpoint = normalize_endpoint(view(beat.endpoint()));
        if (endpoint && *endpoint != endpoint_) send_hello(*endpoint, true, {});
        return;
    }
    if (beat.version() != peer->version) send_hello(peer->endpoint, true, {});
    confirm(from);
}

void Mesh::confirm(std::string_view id) {
    if (const PeerInfo* peer = members_.confirm(id)) handler_.on_peer_changed(*peer);
}

void Mesh::handle_peer_list(const wire::PeerList& list) {
    if (!list.endpoints()) return;
    const auto* keys = list.keys();
    for (flatbuffers::uoffset_t i = 0; i < list.endpoints()->size(); ++i) {
        auto endpoint = normalize_endpoint(view(list.endpoints()->Get(i)));
        if (!endpoint || *endpoint == endpoint_ || members_.find_by_endpoint(*endpoint)) continue;
        if (curve_) {
            // Only keys of the allow-list are worth dialing; a wrong one never completes.
            const std::string_view key = keys && i < keys->size() ? view(keys->Get(i)) : "";
            if (!allowed_->find(key)) continue;
            learn_key(*endpoint, key, false);
        }
        want(*endpoint, false);
    }
    dial_unreached();
}

void Mesh::handle_bye(std::string_view from) {
    if (auto gone = members_.remove(from)) {
        log::info("mesh", "peer " + (gone->name.empty() ? gone->id : gone->name) + " left");
        drop_peer(*gone);
    }
}

void Mesh::drop_peer(const PeerInfo& peer) {
    auto wanted = wanted_.find(peer.endpoint);
    if (wanted == wanted_.end() || !wanted->second.forever) close_dealer(peer.endpoint);
    handler_.on_peer_down(peer);
}

void Mesh::want(const std::string& endpoint, bool forever) {
    auto [it, inserted] = wanted_.try_emplace(endpoint, Wanted{forever, Clock::now()});
    if (!inserted && forever) it->second.forever = true;
}

bool Mesh::reached(const std::string& endpoint) const {
    if (members_.find_by_endpoint(endpoint)) return true;
    auto it = reached_via_.find(endpoint);
    return it != reached_via_.end() && members_.find(it->second);
}

Link* Mesh::dealer_for(const std::string& endpoint) {
    auto it = dealers_.find(endpoint);
    if (it != dealers_.end()) return it->second.get();
    const std::string key = curve_ ? key_of(endpoint) : std::string{};
    if (curve_ && key.empty()) {
        log::debug("mesh", "cannot dial " + endpoint + ": its public key is unknown");
        return nullptr;
    }
    auto dealer =
        connect_dealer(ctx_, id_, dial_instead_.empty() ? endpoint : dial_instead_, options_.limits,
                       curve_ ? &*curve_ : nullptr, key);
    if (!dealer) {
        log::warn("mesh", dealer.error().to_string());
        return nullptr;
    }
    auto link = std::make_shared<Link>(std::move(*dealer), stats_.send_failed);
    return dealers_.emplace(endpoint, std::move(link)).first->second.get();
}

void Mesh::close_dealer(const std::string& endpoint) {
    auto it = dealers_.find(endpoint);
    if (it == dealers_.end()) return;
    it->second->close();  // copies held by other threads must not send to a new owner
    dealers_.erase(it);
}

bool Mesh::send_to_endpoint(const std::string& endpoint,
                            const flatbuffers::FlatBufferBuilder& fbb) {
    Link* dealer = dealer_for(endpoint);
    return dealer && dealer->send(fbb);
}

bool Mesh::send(std::string_view peer_id, const flatbuffers::FlatBufferBuilder& fbb) {
    assert(on_mesh_thread() || !running_);
    const PeerInfo* peer = members_.find(peer_id);
    if (!peer) return false;
    return send_to_endpoint(peer->endpoint, fbb);
}

std::shared_ptr<Link> Mesh::link(std::string_view peer_id) {
    assert(on_mesh_thread() || !running_);
    const PeerInfo* peer = members_.find(peer_id);
    if (!peer || !dealer_for(peer->endpoint)) return nullptr;
    return dealers_.find(peer->endpoint)->second;
}

void Mesh::send_hello(const std::string& endpoint, bool reply, std::string_view answer_to) {
    HelloFields hello;
    hello.id = id_;
    hello.endpoint = endpoint_;
    hello.role = options_.role;
    hello.name = options_.name;
    hello.queues = &queues_;
    hello.version = version_;
    hello.reply = reply;
    hello.via = endpoint;
    hello.answer_to = answer_to;
    hello.heartbeat_ms = static_cast<std::uint32_t>(options_.heartbeat.count());
    hello.reads = kReads;
    if (curve_) hello.public_key = curve_->public_key;
    // Hellos use their own builder: they are sent from inside handlers that may be in the
    // middle of using fbb_.
    static thread_local flatbuffers::FlatBufferBuilder hello_fbb{512};
    encode_hello(hello_fbb, hello);
    send_to_endpoint(endpoint, hello_fbb);
}

void Mesh::set_queues(std::vector<std::string> queues) {
    assert(on_mesh_thread() || !running_);
    std::sort(queues.begin(), queues.end());
    queues.erase(std::unique(queues.begin(), queues.end()), queues.end());
    if (queues == queues_) return;
    queues_ = std::move(queues);
    ++version_;
    for (const auto& [id, peer] : members_.peers()) send_hello(peer.endpoint, false, {});
}

}  // namespace adashta::mesh
