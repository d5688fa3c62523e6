#include "admin_snapshot.hpp"

#include <cmath>
#include <cstdio>

#include "adashta/json.hpp"

namespace adashta::edge {

void count_queue(QueueCounts& counts, const std::string& queue) {
    auto it = counts.find(queue);
    if (it != counts.end())
        ++it->second;
    else if (counts.size() < kAdminMaxQueues)
        counts.emplace(queue, 1);
}

std::string_view admin_queue_kind_name(AdminQueueKind kind) {
    switch (kind) {
        case AdminQueueKind::stream:
            return "stream";
        case AdminQueueKind::work:
            return "work";
        case AdminQueueKind::at_most_once:
            return "at-most-once";
    }
    return "?";
}

std::string admin_queue_key(const AdminQueue& queue) {
    std::string key{admin_queue_kind_name(queue.kind)};
    return key + ":" + queue.name;
}

std::unordered_map<std::string, AdminRates::Rate> AdminRates::update(
    const AdminSnapshot& snapshot) {
    std::unordered_map<std::string, Rate> rates;
    std::unordered_map<std::string, Sample> now;
    for (const AdminQueue& q : snapshot.queues) {
        std::string key = admin_queue_key(q);
        const Sample sample{snapshot.at_ms, q.in_total, q.out_total};
        auto last = last_.find(key);
        // A counter that went down (a work queue deleted and made again) starts over.
        if (last != last_.end() && sample.at_ms > last->second.at_ms &&
            sample.in >= last->second.in && sample.out >= last->second.out) {
            const double seconds = static_cast<double>(sample.at_ms - last->second.at_ms) / 1000;
            rates[key] = {static_cast<double>(sample.in - last->second.in) / seconds,
                          static_cast<double>(sample.out - last->second.out) / seconds};
        }
        now.emplace(std::move(key), sample);
    }
    last_ = std::move(now);  // queues that are gone are forgotten
    return rates;
}

namespace {

void append_field(std::string& out, std::string_view name, std::string_view raw) {
    if (out.back() != '{') out += ',';
    json::append_quoted(out, name);
    out += ':';
    out += raw;
}

void append_field(std::string& out, std::string_view name, std::int64_t value) {
    append_field(out, name, std::to_string(value));
}

void append_string(std::string& out, std::string_view name, std::string_view value) {
    append_field(out, name, json::quote(value));
}

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", std::isfinite(value) ? value : 0.0);
    return text;
}

std::string strings(const std::vector<std::string>& list) {
    std::string out = "[";
    for (const auto& s : list) {
        if (out.size() > 1) out += ',';
        json::append_quoted(out, s);
    }
    return out + "]";
}

// Appends the objects that encode makes of items as a JSON array field.
template <class T, class Encode>
void append_array(std::string& out, std::string_view name, const std::vector<T>& items,
                  Encode&& encode) {
    std::string list = "[";
    for (const T& item : items) {
        if (list.size() > 1) list += ',';
        list += '{';
        encode(list, item);
        list += '}';
    }
    list += ']';
    append_field(out, name, list);
}

}  // namespace

std::string encode_admin_snapshot(const AdminSnapshot& s,
                                  const std::unordered_map<std::string, AdminRates::Rate>& rates,
                                  std::string_view version) {
    std::string out = "{";
    append_string(out, "type", "snapshot");
    append_field(out, "at", s.at_ms);

    std::string edge = "{";
    append_string(edge, "name", s.edge_name);
    append_string(edge, "version", version);
    append_string(edge, "http", s.http);
    append_string(edge, "mesh", s.mesh_endpoint);
    append_field(edge, "uptimeS", (s.at_ms - s.started_ms) / 1000);
    append_field(out, "edge", edge + "}");

    append_array(out, "members", s.members, [](std::string& o, const AdminMember& m) {
        append_string(o, "id", m.id);
        append_string(o, "name", m.name);
        append_string(o, "role", m.role);
        append_string(o, "endpoint", m.endpoint);
        append_field(o, "queues", strings(m.queues));
        append_field(o, "heardMsAgo", m.heard_ms_ago);
        append_field(o, "ready", m.ready ? "true" : "false");
    });

    append_array(out, "queues", s.queues, [&](std::string& o, const AdminQueue& q) {
        append_string(o, "name", q.name);
        append_string(o, "kind", admin_queue_kind_name(q.kind));
        append_field(o, "depth", q.depth);
        append_field(o, "pending", q.pending);
        append_field(o, "deadLettered", q.dead_lettered);
        auto rate = rates.find(admin_queue_key(q));
        const AdminRates::Rate r = rate == rates.end() ? AdminRates::Rate{} : rate->second;
        append_field(o, "inPerS", number(r.in));
        append_field(o, "outPerS", number(r.out));
    });
    if (!s.store_error.empty()) append_string(out, "queuesError", s.store_error);

    std::string sessions = "{";
    append_field(sessions, "total", static_cast<std::int64_t>(s.sessions));
    append_field(sessions, "online", static_cast<std::int64_t>(s.connections));
    append_field(sessions, "maxConnections", static_cast<std::int64_t>(s.max_connections));
    append_field(sessions, "refused", static_cast<std::int64_t>(s.connections_refused));
    append_array(sessions, "list", s.clients, [](std::string& o, const AdminClient& c) {
        append_string(o, "session", c.session);
        append_string(o, "user", c.user);
        append_field(o, "queues", strings(c.queues));
        append_field(o, "connectedS", c.connected_s);
        append_field(o, "outboxBytes", static_cast<std::int64_t>(c.outbox_bytes));
    });
    append_field(out, "sessions", sessions + "}");

    std::string store = "{";
    append_field(store, "bytes", s.store_bytes);
    append_field(out, "store", store + "}");

    append_array(out, "plugins", s.plugins, [](std::string& o, const AdminPlugin& p) {
        append_string(o, "name", p.name);
        append_string(o, "version", p.version);
        append_string(o, "runtime", p.runtime);
    });
    return out + "}";
}

}  // namespace adashta::edge
