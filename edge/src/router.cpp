#include "router.hpp"

#include <algorithm>
#include <utility>

#include "adashta/ids.hpp"
#include "adashta/json.hpp"
#include "adashta/log.hpp"
#include "adashta/names.hpp"

namespace adashta::edge {

namespace {
// A client message no node could take is offered again after this long.
constexpr std::int64_t kRetryMs = 500;
}  // namespace

void Router::attach(mesh::Mesh& mesh, store::Store& store,
                    std::unordered_map<std::string, store::QueueSettings> at_most_once) {
    mesh_ = &mesh;
    store_ = &store;
    calls_ = std::make_unique<StoreCalls>(store);
    at_most_once_ = std::move(at_most_once);
    store.feed_from(feed_, kFeedPerRound, kFeedPerRoundBytes);
}

const store::QueueSettings* Router::at_most_once(const std::string& queue) const {
    if (at_most_once_.empty()) return nullptr;
    auto it = at_most_once_.find(queue);
    return it == at_most_once_.end() ? nullptr : &it->second;
}

namespace {
// Why an at-most-once queue cannot do what was asked.
std::string not_stored(const std::string& queue, std::string_view so) {
    return "queue \"" + queue + "\" is not stored (\"durable\": false), so " + std::string{so};
}

// What the store would check of a message, for one of an at-most-once queue.
Status check_unstored(const std::string& queue, const store::QueueSettings& settings,
                      std::size_t bytes, bool scheduled) {
    if (scheduled)
        return make_error(Errc::not_allowed,
                          not_stored(queue, "it cannot hold messages for later"));
    if (static_cast<std::int64_t>(bytes) > settings.max_message_bytes)
        return make_error(Errc::message_too_large, std::to_string(bytes) + " bytes; queue \"" +
                                                       queue + "\" takes up to " +
                                                       std::to_string(settings.max_message_bytes));
    return {};
}
// At-most-once messages that wait for a full node at most: beyond these, a sender is refused.
// Back-pressure keeps the count near connections x the produces one may have unanswered.
constexpr std::size_t kMaxParked = 100000;
constexpr std::size_t kMaxParkedBytes = 64 << 20;
constexpr std::chrono::seconds kMaxParkedFor{10};
}  // namespace

void Router::produce(std::vector<ClientProduce> produces) {
    mesh_->post([this, batch = std::move(produces)]() mutable {
        for (auto& p : batch) store_client_message(std::move(p));
        if (std::exchange(fed_, false)) store_->fed();
        flush_answers();  // refusals and at-most-once acks go back in one hand-off too
    });
}

void Router::flush_answers() {
    if (!answers_.empty()) sink_.push_all(std::exchange(answers_, {}));
    if (!handed_on_.empty()) sink_.handed_on(std::exchange(handed_on_, {}));
}

void Router::refuse(const ClientProduce& p, Errc code, std::string detail) {
    answers_.push_back({.kind = ClientBound::Kind::error,
                        .connection = p.connection,
                        .ref = p.ref,
                        .produced = p.cost,
                        .code = code,
                        .detail = std::move(detail)});
}

void Router::fetch(ClientFetch fetch) {
    if (at_most_once(fetch.queue)) {
        sink_.push({.kind = ClientBound::Kind::error,
                    .connection = fetch.connection,
                    .ref = fetch.ref,
                    .page = true,
                    .code = Errc::not_allowed,
                    .detail = not_stored(fetch.queue, "there is nothing to fetch")});
        return;
    }
    store::ReadFilter filter;
    filter.from_offset = fetch.from.value_or(0);
    filter.since_ms = fetch.since_ms.value_or(0);
    filter.limit = static_cast<std::size_t>(fetch.limit);
    filter.max_bytes = fetch.max_bytes;
    filter.session = fetch.session;
    filter.user = fetch.user;
    auto answer = std::make_shared<ClientBound>();
    answer->kind = ClientBound::Kind::fetched;
    answer->connection = fetch.connection;
    answer->ref = fetch.ref;
    answer->queue = fetch.queue;
    store_->read(
        [answer, filter](store::Tx& tx) -> Status {
            auto read = tx.streams.read(answer->queue, filter, tx.now_ms);
            if (!read) return read.error();
            for (auto& m : *read)
                answer->messages.push_back(
                    {std::move(m.id), m.offset, std::move(m.data), m.created_ms});
            answer->next = answer->messages.empty() ? std::max(filter.from_offset, std::int64_t{1})
                                                    : answer->messages.back().offset + 1;
            if (answer->messages.empty() && filter.since_ms == 0) {
                auto oldest = tx.streams.oldest_offset(answer->queue, tx.now_ms);
                if (oldest && *oldest > answer->next) answer->next = *oldest;
            }
            return {};
        },
        [this, answer](const Status& status) {
            if (!status) {
                sink_.push({.kind = ClientBound::Kind::error,
                            .connection = answer->connection,
                            .ref = answer->ref,
                            .page = true,
                            .code = status.error().code,
                            .detail = status.error().detail});
                return;
            }
            sink_.push(std::move(*answer));
        });
}

void Router::replay(std::uint64_t connection, std::string session, std::string user,
                    std::string queue, std::int64_t from, std::size_t max_bytes,
                    std::uint64_t replay_id) {
    auto slice = std::make_shared<ClientBound>();
    slice->kind = ClientBound::Kind::replay;
    slice->connection = connection;
    slice->replay = replay_id;
    slice->queue = std::move(queue);
    if (at_most_once(slice->queue)) {  // nothing was kept to resume from: live messages only
        slice->next = from;
        sink_.push(std::move(*slice));
        return;
    }
    store_->write(
        [slice, session = std::move(session), user = std::move(user), from,
         max_bytes](store::Tx& tx) -> Status {
            auto oldest = tx.streams.oldest_offset(slice->queue, tx.now_ms);
            if (!oldest) return oldest.error();
            std::int64_t start = std::max<std::int64_t>(from, 1);
            if (start < *oldest) {  // retention dropped some of it: say so, never skip silently
                slice->gap_from = start;
                slice->gap_to = *oldest - 1;
                start = *oldest;
            }
            store::ReadFilter filter;
            filter.from_offset = start;
            filter.limit = store::kMaxRead;
            filter.max_bytes = max_bytes;
            filter.session = session;
            filter.user = user;
            auto read = tx.streams.read(slice->queue, filter, tx.now_ms);
            if (!read) return read.error();
            // An empty page is the end; a page cut by max_bytes or the count is not.
            slice->more = !read->empty();
            for (auto& m : *read)
                slice->messages.push_back(
                    {std::move(m.id), m.offset, std::move(m.data), m.created_ms});
            slice->next = slice->messages.empty() ? start : slice->messages.back().offset + 1;
            return {};
        },
        [this, slice](const Status& status) {
            if (!status) {
                log::warn("edge",
                          "replay of " + slice->queue + " failed: " + status.error().to_string());
                slice->messages.clear();
                slice->more = false;
            }
            sink_.push(std::move(*slice));
        });
}

void Router::where(std::uint64_t connection, std::uint64_t ref, std::string queue) {
    if (at_most_once(queue)) {  // no offsets: an ack without "next"
        sink_.push({.kind = ClientBound::Kind::ack, .connection = connection, .ref = ref});
        return;
    }
    auto next = std::make_shared<std::int64_t>(0);
    store_->write(
        [next, queue = std::move(queue)](store::Tx& tx) -> Status {
            auto offset = tx.streams.next_offset(queue);
            if (!offset) return offset.error();
            *next = *offset;
            return {};
        },
        [this, next, connection, ref](const Status&) {
            // The subscription stands either way; without "next" the client resumes live.
            sink_.push({.kind = ClientBound::Kind::ack,
                        .connection = connection,
                        .ref = ref,
                        .next = *next});
        });
}

void Router::store_client_message(ClientProduce p) {
    if (ring_for(p.queue).empty()) {
        ++stats_.no_consumer;
        return refuse(p, Errc::no_consumer);
    }
    if (const auto* settings = at_most_once(p.queue))
        return forward_client_message(std::move(p), *settings);
    auto message = std::make_shared<store::StoredMessage>();
    // A client's own id makes a resend after a lost ack the same message: append() keeps
    // the first and acks the second with the same id. Scoped to the session, so the same
    // id from another client is another message (docs/protocol.md, produce).
    message->id = p.id.empty() ? new_message_id() : scoped_message_id(p.id, p.session);
    message->queue = std::move(p.queue);
    message->direction = store::Direction::to_server;
    message->client = std::move(p.session);
    message->data = std::move(p.data);
    message->created_ms = now_ms();
    if (p.deliver_at_ms > 0) message->deliver_at_ms = p.deliver_at_ms;
    if (p.delay_ms > 0) message->deliver_at_ms = message->created_ms + p.delay_ms;
    const bool scheduled = message->deliver_at_ms > 0;
    // Taken for delivery in the same write (hand_out): the node gets it right after the
    // commit, without a second write to take it from pending. It waits for its turn in its
    // session's lane of the feed: a flooding session's backlog never stands before it.
    const std::string session = message->client;
    const std::size_t weight = message->data.size() + 256;
    fed_ = true;
    feed_.add(session, {
        [message, scheduled](store::Tx& tx) -> Status {
            if (scheduled && !tx.streams.settings(message->queue).client_schedule)
                return make_error(Errc::not_allowed, "queue \"" + message->queue +
                                                         "\" does not take scheduled messages "
                                                         "from clients (clientSchedule)");
            auto offset = tx.streams.append(*message, tx.now_ms, tx.hand_out);
            if (!offset) return offset.error();
            return {};
        },
        [this, message, connection = p.connection, ref = p.ref,
         cost = p.cost](const Status& status) {
            if (!status) {
                ++stats_.store_failed;
                sink_.push({.kind = ClientBound::Kind::error,
                            .connection = connection,
                            .ref = ref,
                            .produced = cost,
                            .code = status.error().code,
                            .detail = status.error().detail});
                return;
            }
            ++stats_.stored;
            sink_.push({.kind = ClientBound::Kind::ack,
                        .connection = connection,
                        .ref = ref,
                        .produced = cost,
                        .id = message->id});
        },
        store::Atomic::ordered}, weight);
}

void Router::forward_client_message(ClientProduce p, const store::QueueSettings& settings) {
    if (auto ok =
            check_unstored(p.queue, settings, p.data.size(), p.delay_ms > 0 || p.deliver_at_ms > 0);
        !ok)
        return refuse(p, ok.error().code, ok.error().detail);
    count_queue(in_unstored_, p.queue);
    p.id = p.id.empty() ? new_message_id() : scoped_message_id(p.id, p.session);
    Forward f{.produce = std::move(p), .created_ms = now_ms()};
    // Behind its queue's parked messages, if any, so that they keep their order.
    // (Nearly always nothing waits: then the queue name is not even hashed.)
    const auto waiting = parked_.empty() ? parked_.end() : parked_.find(f.produce.queue);
    if (waiting == parked_.end() && try_forward(f)) return;
    if (parked_count_ >= kMaxParked || parked_bytes_ + f.produce.data.size() > kMaxParkedBytes) {
        ++stats_.unavailable;
        return refuse(f.produce, Errc::node_unavailable,
                      std::to_string(parked_count_) + " messages (" +
                          std::to_string(parked_bytes_) +
                          " bytes) already wait for the nodes of at-most-once queues to catch "
                          "up; send more slowly");
    }
    f.since = std::chrono::steady_clock::now();
    ++parked_count_;
    parked_bytes_ += f.produce.data.size();
    stats_.waiting = parked_count_;
    auto& queue = waiting != parked_.end() ? waiting->second : parked_[f.produce.queue];
    queue.push_back(std::move(f));
    mesh_->retry_soon();
}

bool Router::try_forward(const Forward& f) {
    const ClientProduce& p = f.produce;
    // receive_count 0: not stored, so the node sends no ack and nothing comes again.
    if (!send_to_owner(ring_for(p.queue), p.session,
                       {.id = p.id,
                        .queue = p.queue,
                        .client = p.session,
                        .data = p.data,
                        .created_ms = f.created_ms}))
        return false;
    ++stats_.forwarded;
    count_queue(out_to_nodes_, p.queue);
    if (p.ref)
        answers_.push_back({.kind = ClientBound::Kind::ack,
                            .connection = p.connection,
                            .ref = p.ref,
                            .produced = p.cost,
                            .id = p.id});
    else
        handed_on_.push_back({p.connection, p.cost});
    return true;
}

void Router::on_retry() {
    const auto now = std::chrono::steady_clock::now();
    for (auto it = parked_.begin(); it != parked_.end();) {
        auto& waiting = it->second;
        const bool no_consumer = ring_for(it->first).empty();  // its nodes left meanwhile
        while (!waiting.empty()) {
            const Forward& f = waiting.front();
            if (no_consumer) {
                ++stats_.no_consumer;
                refuse(f.produce, Errc::no_consumer);
            } else if (!try_forward(f)) {
                if (now - f.since < kMaxParkedFor) break;  // the rest waits behind it
                ++stats_.unavailable;
                refuse(f.produce, Errc::node_unavailable,
                       "no node of queue \"" + f.produce.queue + "\" took it within " +
                           std::to_string(kMaxParkedFor.count()) +
                           " s (its mesh queue stayed full); the message is dropped");
            }
            --parked_count_;
            parked_bytes_ -= f.produce.data.size();
            waiting.pop_front();
        }
        it = waiting.empty() ? parked_.erase(it) : std::next(it);
    }
    stats_.waiting = parked_count_;
    if (!parked_.empty()) mesh_->retry_soon();
    flush_answers();
}

bool Router::send_to_owner(const mesh::Ring& ring, const std::string& client,
                           const mesh::DeliverFields& d) {
    auto& fbb = mesh_->builder();
    mesh::encode_deliver(fbb, d);
    // The owner first; if its connection refuses (it just died and has not expired yet, or
    // its queue is full), the node that will own the session once it is gone. The full list
    // costs two allocations, so it is made only when the owner refused.
    const std::string_view owner = ring.owner(client);
    if (owner.empty()) return false;
    bool sent = mesh_->send(owner, fbb);
    if (!sent)
        for (std::string_view node : ring.owners(client, ring.members().size()))
            if (node != owner && mesh_->send(node, fbb)) {
                sent = true;
                break;
            }
    if (sent) ++stats_.routed;
    return sent;
}

void Router::settle(std::function<void()> done) {
    // Each hop queues behind what its thread already has: the mesh thread's tasks (the
    // write_acks of acks read so far among them), then the store batch those wrote to, then
    // the mesh tasks that batch's due messages became: a store timer runs at the start of the
    // next store round, after the last one's on_due posted them. Long polls answer on the
    // way, while the mesh can still carry their answers.
    mesh_->post([this, done = std::move(done)] {
        store_->write([](store::Tx&) { return Status{}; },
                      [this, done](const Status&) {
                          calls_->end_waits();
                          store_->after(std::chrono::milliseconds{0},
                                        [this, done] { mesh_->post(done); });
                      },
                      store::Atomic::ordered);  // nothing to undo
    });
}

void Router::on_due(std::vector<store::Due> due) {
    mesh_->post([this, due = std::move(due)] {
        for (const auto& d : due) route(d);
    });
}

void Router::on_dead_lettered(std::vector<store::Due> messages) {
    stats_.dead_lettered += messages.size();
    for (const auto& d : messages) count_queue(dead_lettered_, d.message.queue);
    for (const auto& d : messages)
        log::warn("edge", "message " + d.message.id + " on " + d.message.queue + " was received " +
                              std::to_string(d.receive_count) +
                              " times without an ack; moved to its dead-letter queue");
}

void Router::on_scheduled(std::vector<store::StoredMessage> messages) {
    for (const auto& m : messages) to_clients(m);
}

void Router::client_connected(std::string session, std::string user, bool resumed) {
    mesh_->post([this, session = std::move(session), user = std::move(user), resumed]() mutable {
        if (!user.empty())
            users_[session] = std::move(user);
        else
            users_.erase(session);
        tell_nodes(wire::ClientEventKind::Connected, session, resumed);
    });
}

void Router::sessions_expired(std::vector<std::string> sessions) {
    mesh_->post([this, sessions = std::move(sessions)] {
        for (const auto& session : sessions) users_.erase(session);
    });
}

const std::string& Router::user_of(const std::string& session) const {
    static const std::string kNone;
    auto it = users_.find(session);
    return it == users_.end() ? kNone : it->second;
}

void Router::client_disconnected(std::string session) {
    mesh_->post([this, session = std::move(session)] {
        tell_nodes(wire::ClientEventKind::Disconnected, session, false);
    });
}

const mesh::Ring& Router::ring_for(const std::string& queue) {
    CachedRing& cached = rings_[queue];
    const std::uint64_t epoch = mesh_->members().epoch();
    if (cached.epoch != epoch) {
        cached.ring = mesh::Ring{mesh_->members().consumers(queue)};
        cached.epoch = epoch;
    }
    return cached.ring;
}

void Router::route(const store::Due& due) {
    const store::StoredMessage& m = due.message;
    const mesh::Ring& ring = ring_for(m.queue);
    if (due.receive_count > 1) ++stats_.redelivered;
    if (send_to_owner(ring, m.client,
                      {.id = m.id,
                       .queue = m.queue,
                       .client = m.client,
                       .data = m.data,
                       .created_ms = m.created_ms,
                       .offset = m.offset,
                       .receive_count = static_cast<std::uint32_t>(due.receive_count),
                       .user = user_of(m.client)})) {
        count_queue(out_to_nodes_, m.queue);
        return;
    }
    // Nobody could take it now (no consumer, or every connection down): it stays pending
    // and is offered again shortly, without counting this as a receive.
    ++stats_.unavailable;
    store_->write(
        [id = m.id](store::Tx& tx) { return tx.streams.release(id, tx.now_ms + kRetryMs); });
}

void Router::tell_nodes(wire::ClientEventKind kind, const std::string& session, bool resumed) {
    auto& fbb = mesh_->builder();
    mesh::encode_client_event(fbb, kind, session, resumed, user_of(session));
    for (const auto& [id, peer] : mesh_->members().peers())
        if (peer.role == wire::Role::Node) mesh_->send(id, fbb);
}

void Router::on_deliver(const mesh::PeerInfo& from, const wire::Deliver& msg) {
    ++stats_.delivered_in;
    const std::string_view data = mesh::view(msg.data());
    // Node data is spliced into browser frames as is, so it must be JSON.
    if (!json::is_valid(data) || !is_valid_queue_name(mesh::view(msg.queue()))) {
        ++stats_.bad_data;
        log::warn("edge", "dropped a message from node " + from.name + ": data is not JSON");
        return;
    }
    // A node's ids are its SDK's own (unique); one that could pass for a client's scoped id
    // (or any other shape) is refused like bad data.
    const std::string_view id = mesh::view(msg.id());
    if (!id.empty() && !is_valid_message_id(id)) {
        ++stats_.bad_data;
        log::warn("edge", "dropped a message from node " + from.name +
                              ": its id is not 8 to 64 of A-Za-z0-9_-");
        return;
    }
    auto message = std::make_shared<store::StoredMessage>();
    message->id = id;
    if (message->id.empty()) message->id = new_message_id();
    message->queue = mesh::view(msg.queue());
    message->direction = msg.fanout() ? store::Direction::to_all : store::Direction::to_client;
    message->client = mesh::view(msg.client());
    if (!msg.fanout() && message->client.empty() && !mesh::view(msg.user()).empty()) {
        message->direction = store::Direction::to_user;
        message->client = mesh::view(msg.user());
    }
    message->data = data;
    message->created_ms = msg.created_ms() > 0 ? msg.created_ms() : now_ms();
    message->deliver_at_ms = msg.deliver_at_ms();
    store_node_message(std::move(message), from.name, {});
}

void Router::use_plugins(std::shared_ptr<plugins::Chain> chain) {
    mesh_->post([this, chain = std::move(chain)]() mutable { plugins_ = std::move(chain); });
}

void Router::store_node_message(std::shared_ptr<store::StoredMessage> message, std::string node,
                                std::function<void(const Status&)> done) {
    using plugins::Hook;
    using plugins::Verdict;
    if (!plugins_ || !plugins_->runs(Hook::on_produce, message->queue))
        return store_checked_message(std::move(message), std::move(node), std::move(done));
    std::string subject = "{\"queue\":" + json::quote(message->queue) + ",\"id\":" + json::quote(message->id);
    if (message->direction == store::Direction::to_client)
        subject += ",\"to\":" + json::quote(message->client);
    if (message->direction == store::Direction::to_user)
        subject += ",\"toUser\":" + json::quote(message->client);
    if (message->deliver_at_ms > 0) subject += ",\"deliverAt\":" + std::to_string(message->deliver_at_ms);
    subject += '}';
    plugins::CallText call{Hook::on_produce, std::move(subject), message->data,
                           "{\"node\":" + json::quote(node) + "}"};
    plugins_->run(Hook::on_produce, message->queue, std::move(call),
                  [this, message, node, done](Verdict v, std::string who) mutable {
                      mesh_->post([this, message = std::move(message), node = std::move(node),
                                   done = std::move(done), v = std::move(v),
                                   who = std::move(who)]() mutable {
                          if (v.kind == Verdict::Kind::pass) {
                              if (v.data) message->data = std::move(*v.data);
                              return store_checked_message(std::move(message), std::move(node),
                                                           std::move(done));
                          }
                          const Errc code = v.kind == Verdict::Kind::drop ? Errc::plugin_dropped
                                            : v.failed ? Errc::plugin_failed
                                                       : Errc::plugin_rejected;
                          const std::string detail =
                              v.failed ? v.reason
                                       : "plugin " + who +
                                             (v.kind == Verdict::Kind::drop ? " dropped" : " rejected") +
                                             " the message" + (v.reason.empty() ? "" : ": " + v.reason);
                          if (done) done(make_error(code, detail));
                      });
                  });
}

void Router::store_checked_message(std::shared_ptr<store::StoredMessage> message, std::string node,
                                   std::function<void(const Status&)> done) {
    if (const auto* settings = at_most_once(message->queue)) {
        // Straight to the clients online now; one that is offline never gets it.
        const Status status = check_unstored(message->queue, *settings, message->data.size(),
                                             message->deliver_at_ms > 0);
        if (done) done(status);
        if (!status) {
            log::warn("edge",
                      "refused a message from node " + node + ": " + status.error().to_string());
            return;
        }
        ++stats_.forwarded;
        count_queue(in_unstored_, message->queue);
        // Keyed as the store keys it, so that to_clients reads every user back alike.
        if (message->direction == store::Direction::to_user)
            message->client = store::user_key(message->client);
        to_clients(*message);
        return;
    }
    store_->write(
        [message](store::Tx& tx) -> Status {
            auto offset = tx.streams.append(*message, tx.now_ms);
            if (!offset) return offset.error();
            message->offset = *offset;
            return {};
        },
        [this, message, node = std::move(node), done = std::move(done)](const Status& status) {
            if (done) done(status);
            if (!status) {
                ++stats_.store_failed;
                log::warn("edge", "could not store a message from node " + node + " on " +
                                      message->queue + ": " + status.error().to_string());
                return;
            }
            // A scheduled message gets its offset when its time comes (the store hands it
            // out then); one stored with an offset goes out now.
            if (message->offset > 0) to_clients(*message);
        },
        store::Atomic::ordered);
}

void Router::confirmed_produce(const mesh::PeerInfo& from, const wire::Request& request) {
    auto answer = answer_to(from, request);
    auto refuse = [&](Errc code, std::string detail) {
        answer(static_cast<int>(code), std::move(detail), {});
    };
    auto parsed = json::ObjectView::parse(mesh::view(request.args()));
    if (!parsed) return refuse(Errc::bad_json, parsed.error().detail);
    const auto queue = parsed->string("queue");
    const auto data = parsed->raw("data");
    const auto id = parsed->string("id");
    const auto to = parsed->string("to");
    const auto to_user = parsed->string("toUser");
    const auto raw_at = parsed->raw("deliverAt");
    const auto deliver_at = parsed->integer("deliverAt");
    if (!queue || !is_valid_queue_name(*queue)) return refuse(Errc::bad_queue, "\"queue\"");
    if (!data) return refuse(Errc::bad_data, "\"data\" (JSON) is missing");
    if (!id || !is_valid_message_id(*id))
        return refuse(Errc::bad_frame, "\"id\" (8-64 of A-Za-z0-9_-) is missing");
    if (raw_at && (!deliver_at || *deliver_at < 0))
        return refuse(Errc::bad_timeout, "\"deliverAt\" must be ms since the epoch");
    auto message = std::make_shared<store::StoredMessage>();
    message->id = *id;
    message->queue = *queue;
    message->client = to.value_or("");
    message->direction =
        message->client.empty() ? store::Direction::to_all : store::Direction::to_client;
    if (to && to_user) return refuse(Errc::bad_frame, "give \"to\" or \"toUser\", not both");
    if (to_user) {
        message->direction = store::Direction::to_user;
        message->client = *to_user;
    }
    message->data = *data;
    message->created_ms = now_ms();
    message->deliver_at_ms = deliver_at.value_or(0);
    ++stats_.delivered_in;
    store_node_message(message, from.name, [message, answer](const Status& status) {
        if (!status)
            return answer(static_cast<int>(status.error().code), status.error().detail, {});
        answer(0, {},
               "{\"id\":" + json::quote(message->id) +
                   ",\"offset\":" + std::to_string(message->offset) + "}");
    });
}

void Router::to_clients(const store::StoredMessage& m) {
    ClientBound event;
    switch (m.direction) {
        case store::Direction::to_all:
            event.kind = ClientBound::Kind::fanout;
            break;
        case store::Direction::to_user:
            event.kind = ClientBound::Kind::user;
            // The store keeps user_key(user), and so does an at-most-once message.
            event.user = m.client.starts_with("u:") ? m.client.substr(2) : m.client;
            break;
        default:
            event.kind = ClientBound::Kind::direct;
            event.session = m.client;
            break;
    }
    event.queue = m.queue;
    event.id = m.id;
    event.data = m.data;
    event.ts = m.created_ms;
    event.offset = m.offset;
    sink_.push(std::move(event));
}

void Router::on_ack(const mesh::PeerInfo& from, const wire::Ack& ack) {
    (void)from;
    ++stats_.acked;
    // Acks come in bursts (a node acks each message it handled): the first of a burst
    // queues a task that runs once the mesh thread has read every frame waiting, and
    // that task hands all of them to the store as one piece of work.
    if (acks_.empty()) mesh_->post([this] { write_acks(); });
    acks_.emplace_back(mesh::view(ack.id()));
}

void Router::write_acks() {
    store_->write(
        [ids = std::exchange(acks_, {})](store::Tx& tx) {
            Status first_failure;
            for (const std::string& id : ids) {
                auto acked = tx.streams.ack(id);
                // A late ack for a message another node already acked is no news.
                if (!acked && acked.error().code != Errc::unknown_message && first_failure)
                    first_failure = acked;
            }
            return first_failure;
        },
        {}, store::Atomic::ordered);
}

void Router::on_request(const mesh::PeerInfo& from, const wire::Request& request) {
    const std::string_view op = mesh::view(request.op());
    if (op == "produce") return confirmed_produce(from, request);
    if (op == "fetch" && !at_most_once_.empty()) {
        auto args = json::ObjectView::parse(mesh::view(request.args()));
        const auto queue = args ? args->string("queue") : std::nullopt;
        if (queue && at_most_once(*queue))
            return answer_to(from, request)(static_cast<int>(Errc::not_allowed),
                                            not_stored(*queue, "there is nothing to fetch"), {});
    }
    calls_->call(mesh::view(request.op()), mesh::view(request.args()), answer_to(from, request));
}

// The answer goes out from the thread that has it over the member's link, not through a
// post to the mesh thread. The store thread, which has most of them, keeps a round's answers
// until the round ends and sends each node its answers in one frame: a frame per answer
// would wake the ZeroMQ I/O thread (which on a busy core preempts the store thread) and
// every thread of the node once per answer. A member that left meanwhile has a closed link,
// and its answer is dropped.
StoreCalls::Reply Router::answer_to(const mesh::PeerInfo& from, const wire::Request& request) {
    auto link = mesh_->link(from.id);
    const bool batched = (from.reads & wire::Reads::Responses) == wire::Reads::Responses;
    return [this, link = std::move(link), batched, corr = request.corr()](
               int code, std::string detail, std::string result) {
        if (!link) return;
        Answer answer{link, batched, corr, code, std::move(detail), std::move(result)};
        if (store_->on_store_thread())
            node_answers_.push_back(std::move(answer));
        else
            send_answers({&answer, 1});
    };
}

void Router::on_round_end() {
    if (node_answers_.empty()) return;
    // Grouped by node, each node's answers in the order they were given.
    std::stable_sort(node_answers_.begin(), node_answers_.end(),
                     [](const Answer& a, const Answer& b) { return a.link < b.link; });
    for (auto first = node_answers_.begin(); first != node_answers_.end();) {
        auto last = std::find_if(first, node_answers_.end(),
                                 [&](const Answer& a) { return a.link != first->link; });
        send_answers({first, last});
        first = last;
    }
    node_answers_.clear();
}

void Router::send_answers(std::span<const Answer> answers) {
    // A frame stays far below the receivers' 16 MiB cap; a larger answer goes alone.
    constexpr std::size_t kFrameBytes = 1 << 20;
    constexpr std::size_t kFrameAnswers = 1000;
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<mesh::ResponseFields> frame;
    std::size_t bytes = 0;
    auto send_frame = [&] {
        if (frame.size() == 1)
            mesh::encode_response(fbb, frame[0].corr, frame[0].code, frame[0].detail,
                                  frame[0].result);
        else
            mesh::encode_responses(fbb, frame);
        answers.front().link->send(fbb);
        frame.clear();
        bytes = 0;
    };
    for (const Answer& a : answers) {
        const std::size_t size = a.detail.size() + a.result.size() + 64;
        if (!frame.empty() &&
            (!a.batched || bytes + size > kFrameBytes || frame.size() == kFrameAnswers))
            send_frame();
        frame.push_back({a.corr, a.code, a.detail, a.result});
        bytes += size;
    }
    if (!frame.empty()) send_frame();
}

void Router::recount() {
    std::size_t nodes = 0;
    std::size_t edges = 0;
    for (const auto& [id, peer] : mesh_->members().peers()) {
        if (peer.role == wire::Role::Node && peer.knows_us) ++nodes;
        if (peer.role == wire::Role::Edge) ++edges;
    }
    nodes_ = nodes;
    edges_ = edges;
}

void Router::on_peer_up(const mesh::PeerInfo& peer) {
    log::info("edge", std::string{peer.role == wire::Role::Edge ? "edge" : "node"} + " " +
                          (peer.name.empty() ? peer.id : peer.name) + " joined from " +
                          peer.endpoint);
    recount();
}

void Router::on_peer_changed(const mesh::PeerInfo& peer) {
    (void)peer;
    recount();
}

void Router::on_peer_down(const mesh::PeerInfo& peer) {
    (void)peer;
    recount();
}

namespace {
std::string role_name(wire::Role role) {
    switch (role) {
        case wire::Role::Edge:
            return "edge";
        case wire::Role::Tool:
            return "tool";
        default:
            return "node";
    }
}

std::uint64_t count_of(const QueueCounts& counts, const std::string& queue) {
    auto it = counts.find(queue);
    return it == counts.end() ? 0 : it->second;
}
}  // namespace

void Router::admin_snapshot(std::shared_ptr<AdminSnapshot> snapshot) {
    mesh_->post([this, snapshot = std::move(snapshot)]() mutable {
        snapshot->mesh_endpoint = mesh_->endpoint();
        const auto now = mesh::Clock::now();
        for (const auto& [id, peer] : mesh_->members().peers())
            snapshot->members.push_back(
                {.id = id,
                 .name = peer.name,
                 .role = role_name(peer.role),
                 .endpoint = peer.endpoint,
                 .queues = peer.queues,
                 .heard_ms_ago =
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - peer.last_seen)
                         .count(),
                 .ready = peer.knows_us});
        snapshot->out_to_nodes = out_to_nodes_;
        for (const auto& [name, settings] : at_most_once_) {
            if (snapshot->queues.size() >= kAdminMaxQueues) break;
            auto parked = parked_.find(name);
            const auto waiting = parked == parked_.end() ? 0 : parked->second.size();
            snapshot->queues.push_back(
                {.name = name,
                 .kind = AdminQueueKind::at_most_once,
                 .pending = static_cast<std::int64_t>(waiting),
                 .in_total = count_of(in_unstored_, name),
                 .out_total = count_of(out_to_nodes_, name) +
                              count_of(snapshot->out_to_browsers, name)});
        }
        std::sort(snapshot->queues.begin(), snapshot->queues.end(),
                  [](const AdminQueue& a, const AdminQueue& b) { return a.name < b.name; });
        admin_queues(std::move(snapshot));
    });
}

void Router::admin_queues(std::shared_ptr<AdminSnapshot> snapshot) {
    // Counting pending messages and work-queue attributes costs O(messages): this runs once
    // a second, and only while an admin page is open.
    store_->read(
        [this, snapshot](store::Tx& tx) -> Status {
            std::vector<AdminQueue> queues;  // in front of the at-most-once ones
            auto streams = tx.streams.queues();
            if (!streams) return streams.error();
            for (const auto& q : *streams) {
                if (queues.size() >= kAdminMaxQueues) break;
                auto oldest = tx.streams.oldest_offset(q.name, tx.now_ms);
                if (!oldest) return oldest.error();
                auto pending = tx.streams.pending_count(q.name);
                if (!pending) return pending.error();
                queues.push_back(
                    {.name = q.name,
                     .depth = q.next_offset - *oldest,
                     .pending = *pending,
                     .dead_lettered = static_cast<std::int64_t>(count_of(dead_lettered_, q.name)),
                     .in_total = static_cast<std::uint64_t>(q.next_offset - 1),
                     .out_total = count_of(snapshot->out_to_nodes, q.name) +
                                  count_of(snapshot->out_to_browsers, q.name)});
            }
            auto work = tx.work.list_queues();
            if (!work) return work.error();
            for (const auto& name : *work) {
                if (queues.size() >= 2 * kAdminMaxQueues) break;
                auto a = tx.work.queue_attributes(name, tx.now_ms);
                if (!a) continue;  // deleted meanwhile
                queues.push_back({.name = name,
                                  .kind = AdminQueueKind::work,
                                  .depth = a->msgs,
                                  .pending = a->hiddenmsgs,
                                  .dead_lettered = a->totaldead,
                                  .in_total = static_cast<std::uint64_t>(a->totalsent),
                                  .out_total = static_cast<std::uint64_t>(a->totalrecv)});
            }
            snapshot->queues.insert(snapshot->queues.begin(),
                                    std::make_move_iterator(queues.begin()),
                                    std::make_move_iterator(queues.end()));
            return {};
        },
        [this, snapshot](const Status& status) {
            if (!status) snapshot->store_error = status.error().to_string();
            sink_.push({.kind = ClientBound::Kind::admin, .admin = snapshot});
        });
}

}  // namespace adashta::edge
