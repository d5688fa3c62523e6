#include "sessions.hpp"

#include <vector>

namespace adashta::edge {

Connection& Sessions::open(void* wsi, Clock::time_point now) {
    auto connection = std::make_unique<Connection>();
    connection->serial = next_serial_++;
    connection->wsi = wsi;
    connection->opened = now;
    Connection& ref = *connection;
    connections_.emplace(ref.serial, std::move(connection));
    return ref;
}

void Sessions::close(Connection& connection, Clock::time_point now) {
    for (const auto& queue : connection.queues) {
        auto it = subscribers_.find(queue);
        if (it == subscribers_.end()) continue;
        it->second.erase(&connection);
        if (it->second.empty()) subscribers_.erase(it);
    }
    if (!connection.admission.user.empty()) {
        auto it = users_.find(connection.admission.user);
        if (it != users_.end()) {
            it->second.erase(&connection);
            if (it->second.empty()) users_.erase(it);
        }
    }
    if (!connection.session.empty()) {
        auto it = sessions_.find(connection.session);
        if (it != sessions_.end() && it->second.connection == &connection) {
            it->second.connection = nullptr;
            it->second.offline_since = now;
        }
    }
    connections_.erase(connection.serial);
}

Connection* Sessions::find(std::uint64_t serial) {
    auto it = connections_.find(serial);
    return it == connections_.end() ? nullptr : it->second.get();
}

Sessions::Bound Sessions::bind(Connection& connection, const std::string& session) {
    Bound bound;
    auto [it, inserted] = sessions_.try_emplace(session);
    bound.resumed = !inserted;
    if (it->second.connection && it->second.connection != &connection)
        bound.replaced = it->second.connection;
    it->second.connection = &connection;
    connection.session = session;
    if (!connection.admission.user.empty()) users_[connection.admission.user].insert(&connection);
    return bound;
}

void Sessions::for_each_connection_of_user(const std::string& user,
                                           const std::function<void(Connection&)>& fn) {
    auto it = users_.find(user);
    if (it == users_.end()) return;
    for (Connection* c : it->second) fn(*c);
}

Connection* Sessions::connection_of(const std::string& session) {
    auto it = sessions_.find(session);
    return it == sessions_.end() ? nullptr : it->second.connection;
}

void Sessions::subscribe(Connection& connection, const std::string& queue) {
    connection.queues.insert(queue);
    subscribers_[queue].insert(&connection);
}

void Sessions::unsubscribe(Connection& connection, const std::string& queue) {
    connection.queues.erase(queue);
    auto it = subscribers_.find(queue);
    if (it == subscribers_.end()) return;
    it->second.erase(&connection);
    if (it->second.empty()) subscribers_.erase(it);
}

void Sessions::for_each_subscriber(const std::string& queue,
                                   const std::function<void(Connection&)>& fn) {
    auto it = subscribers_.find(queue);
    if (it == subscribers_.end()) return;
    for (Connection* c : it->second) fn(*c);
}

void Sessions::for_each_connection(const std::function<void(Connection&)>& fn) {
    for (auto& [serial, connection] : connections_) fn(*connection);
}

std::vector<std::string> Sessions::expire(Clock::time_point now, Clock::duration ttl) {
    std::vector<std::string> n;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (!it->second.connection && now - it->second.offline_since > ttl) {
            n.push_back(it->first);
            it = sessions_.erase(it);
        } else {
            ++it;
        }
    }
    return n;
}

}  // namespace adashta::edge
