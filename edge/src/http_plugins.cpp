// The HTTP thread's plugin hooks (docs/plugins.md, "Running plugins"): on_connect at hello,
// on_message before a browser's produce goes to the router, on_deliver before a node's
// message is written to one browser, on_disconnect when a connection ends.
//
// A hook's verdict comes on its plugin's thread and is handed back with post(). What a
// connection sends or is sent while a verdict is outstanding waits behind it (HookSteps),
// so a slow plugin delays that connection's messages and no one else's, in order.
#include <cassert>
#include <charconv>
#include <cctype>
#include <set>

#include <libwebsockets.h>

#include "adashta/json.hpp"
#include "adashta/log.hpp"
#include "http_server.hpp"

namespace adashta::edge {

using plugins::Hook;
using plugins::Verdict;

namespace {

void add_field(std::string& out, std::string_view name, std::string_view raw_json) {
    out += out.size() > 1 ? ",\"" : "\"";
    out += name;
    out += "\":";
    out += raw_json;
}

std::string quoted_or_null(const std::string& s) {
    return s.empty() ? std::string{"null"} : json::quote(s);
}

void append_number(std::string& out, std::int64_t n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, end);
}

// A decided round's buffers are kept for a later round unless there are enough or they are
// big (a busy edge's rounds of 5,000 calls are about 1 MiB of texts).
constexpr std::size_t kSpareRounds = 4;
constexpr std::size_t kSpareBytes = 8u << 20;
constexpr std::size_t kSpareHeld = 1u << 16;  // calls

}  // namespace

HookRound::Span HookRound::put(std::string_view text) {
    const Span span{texts_.size(), text.size()};
    texts_ += text;
    return span;
}

void HookRound::add(std::string_view queue, std::string_view id, std::int64_t offset, std::int64_t ts,
                    std::string_view data, std::string_view context) {
    auto& call = calls_.emplace_back();
    call[0] = put(queue);
    // The message as a hook's msg sees it, without its data, written in place.
    const std::size_t at = texts_.size();
    texts_ += "{\"queue\":";
    json::append_quoted(texts_, queue);
    if (!id.empty()) {
        texts_ += ",\"id\":";
        json::append_quoted(texts_, id);
    }
    if (offset > 0) {
        texts_ += ",\"offset\":";
        append_number(texts_, offset);
    }
    if (ts > 0) {
        texts_ += ",\"ts\":";
        append_number(texts_, ts);
    }
    texts_ += '}';
    call[1] = Span{at, texts_.size() - at};
    call[2] = put(data);
    // A connection's messages of a round come one after another: they share one copy of
    // their client.
    if (!has_context_ || std::string_view{texts_}.substr(context_.at, context_.size) != context) {
        context_ = put(context);
        has_context_ = true;
    }
    call[3] = context_;
}

std::vector<plugins::ChainItem> HookRound::take(Hook hook, std::string& texts, std::vector<std::string>& spare,
                                                std::vector<plugins::ChainItem> items) {
    texts = std::move(texts_);
    texts_ = {};
    has_context_ = false;
    if (!spare.empty()) {
        texts_ = std::move(spare.back());
        spare.pop_back();
    }
    if (texts_.capacity() < texts.size()) texts_.reserve(texts.size());
    items.clear();
    items.reserve(calls_.size());
    const std::string_view all{texts};
    for (const auto& c : calls_) {
        const auto view = [all](Span s) { return all.substr(s.at, s.size); };
        items.push_back({view(c[0]), plugins::Call{hook, view(c[1]), view(c[2]), view(c[3])}});
    }
    calls_.clear();
    return items;
}

void HttpServer::use_plugins(std::shared_ptr<plugins::Chain> chain) {
    post([this, chain = std::move(chain)]() mutable {
        flush_hooks();  // what this round gathered goes to the chain it was gathered for
        plugins_ = std::move(chain);
    });
}

std::string HttpServer::hook_request(const ClientSocket& socket, const HttpRequest& request) {
    std::string out = "{";
    const std::string* origin = request.header("Origin");
    add_field(out, "origin", origin ? json::quote(*origin) : std::string{"null"});
    char ip[64] = "";
    lws_get_peer_simple(static_cast<lws*>(socket.wsi()), ip, sizeof ip);
    add_field(out, "ip", json::quote(ip));
    add_field(out, "path", json::quote(request.target));
    std::string headers = "{";
    std::set<std::string> seen;
    for (const auto& [name, value] : request.headers) {
        std::string lower = name;
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        // The first of a repeated header, as header() reads it.
        if (!seen.insert(lower).second) continue;
        add_field(headers, lower, json::quote(value));
    }
    headers += '}';
    add_field(out, "headers", headers);
    out += '}';
    return out;
}

template <class Now, class Keep>
void HttpServer::step_ready(std::uint64_t serial, bool in, std::uint64_t ticket, Now&& now, Keep&& keep) {
    Connection* c = sessions_.find(serial);
    // Gone: nothing of it waits any more, and what passed still goes on (a produce is
    // committed as one read before a close would be).
    if (!c) return now();
    HookSteps& q = in ? c->hooked_in : c->hooked_out;
    assert(ticket >= q.first && ticket - q.first < q.steps.size());
    if (ticket != q.first) {  // behind an undecided one: it waits
        q.steps[ticket - q.first] = {true, keep()};
        return;
    }
    q.steps.pop_front();
    ++q.first;
    now();
    run_ready_steps(serial, in);
}

template <class Run>
void HttpServer::step_ready(std::uint64_t serial, bool in, std::uint64_t ticket, Run&& run) {
    step_ready(serial, in, ticket, run, [&run] { return std::function<void()>{std::move(run)}; });
}

void HttpServer::run_ready_steps(std::uint64_t serial, bool in) {
    while (true) {
        Connection* c = sessions_.find(serial);
        if (!c) return;
        HookSteps& steps = in ? c->hooked_in : c->hooked_out;
        if (steps.steps.empty() || !steps.steps.front().ready) return;
        auto next = std::move(steps.steps.front().run);
        steps.steps.pop_front();
        ++steps.first;
        next();
    }
}

bool HttpServer::hook_produce(Connection& c, ClientProduce& p) {
    if (!plugins_) return false;
    const bool runs = plugins_->runs(Hook::on_message, p.queue);
    if (!runs && c.hooked_in.steps.empty()) return false;
    const std::uint64_t ticket = c.hooked_in.add();
    if (!runs) {  // behind an earlier one that a plugin holds
        step_ready(c.serial, true, ticket,
                   [this, produce = std::move(p)]() mutable { produced_.push_back(std::move(produce)); });
        return true;
    }
    produce_calls_.add(p.queue, p.id, 0, 0, p.data, c.hook_client);
    hooked_produces_.push_back({c.serial, ticket, std::move(p)});
    return true;
}

void HttpServer::flush_hooks() {
    flush_hook_round(Hook::on_message, produce_calls_, hooked_produces_, spare_produces_, true,
                     [this](HookedProduce& h, plugins::Decision& d) {
                         produce_decided(h.produce, std::move(d.verdict), d.plugin);
                     });
    flush_hook_round(Hook::on_deliver, delivery_calls_, hooked_deliveries_, spare_deliveries_, false,
                     [this](HookedDelivery& h, plugins::Decision& d) { delivery_decided(h, d.verdict); });
}

template <class Held, class Decide>
void HttpServer::flush_hook_round(Hook hook, HookRound& round, std::vector<Held>& held, std::vector<Held>& spare,
                                  bool in, Decide decide) {
    if (round.empty()) return;
    // The round's texts stay here until its batch is decided (the items view them), then
    // their buffer serves a later round; so does the held vector's.
    auto texts = std::make_shared<std::string>();
    std::vector<plugins::ChainItem> items =
        round.take(hook, *texts, spare_texts_, plugins_ ? plugins_->items_buffer() : std::vector<plugins::ChainItem>{});
    // Each step runs in its turn, later if earlier ones wait: it owns its held part and decision.
    auto decided = [this, in, decide, &spare, held = take_round(held, spare), texts](std::span<plugins::Decision> d) mutable {
        // Room for what passes at once: grown one push at a time, the vector was moved whole
        // a dozen times a round (and its new blocks faulted in).
        if (in) produced_.reserve(produced_.size() + held.size());
        for (std::size_t i = 0; i < held.size(); ++i) {
            Held& h = held[i];
            plugins::Decision& v = d[i];
            // Most often: a produce that passes, at the front of its connection's steps, the
            // next one (if any) undecided, such as its next of this round. Its decision only
            // hands it to the router, which adds or readies no step: nothing is left to run.
            if (in && v.verdict.kind == Verdict::Kind::pass) {
                Connection* c = sessions_.find(h.serial);
                if (c && h.ticket == c->hooked_in.first &&
                    (c->hooked_in.steps.size() == 1 || !c->hooked_in.steps[1].ready)) {
                    c->hooked_in.steps.pop_front();
                    ++c->hooked_in.first;
                    decide(h, v);
                    continue;
                }
            }
            // Decided in place when it is its connection's next step; moved into the step
            // only when it has to wait.
            step_ready(
                h.serial, in, h.ticket, [&decide, &h, &v] { decide(h, v); },
                [&decide, &h, &v] {
                    return std::function<void()>{
                        [decide, h = std::move(h), v = std::move(v)]() mutable { decide(h, v); }};
                });
        }
        if (spare_texts_.size() < kSpareRounds && texts->capacity() <= kSpareBytes) {
            texts->clear();
            spare_texts_.push_back(std::move(*texts));
        }
        held.clear();
        if (held.capacity() <= kSpareHeld && held.capacity() > spare.capacity()) spare = std::move(held);
    };
    if (!plugins_) {  // let go since they were gathered: they pass as without plugins
        std::vector<plugins::Decision> none(items.size());
        decided(none);
        return;
    }
    // One batch through the chain, one post back; the walk comes back too, so that this
    // thread, which allocated its vectors, frees them.
    plugins_->run_batch(hook, std::move(items),
                        [this, decided = std::move(decided)](std::span<plugins::Decision> d,
                                                             std::shared_ptr<void> walk) mutable {
                            post([decided = std::move(decided), d, walk = std::move(walk)]() mutable {
                                decided(d);
                                walk.reset();
                            });
                        });
}

void HttpServer::produce_decided(ClientProduce& p, Verdict v, const std::string& who) {
    if (v.kind == Verdict::Kind::pass) {
        if (v.data) p.data = std::move(*v.data);
        produced_.push_back(std::move(p));
        return;
    }
    // Refused here: the sender hears why, even without a ref (an error always comes).
    if (Connection* c = sessions_.find(p.connection)) {
        const Errc code = v.kind == Verdict::Kind::drop ? Errc::plugin_dropped
                          : v.failed                    ? Errc::plugin_failed
                                                        : Errc::plugin_rejected;
        std::string detail = v.failed ? v.reason
                                      : "plugin " + who +
                                            (v.kind == Verdict::Kind::drop ? " dropped" : " rejected") +
                                            " the message" + (v.reason.empty() ? "" : ": " + v.reason);
        auto frame = new_frame();
        encode_error(*frame, p.ref, code, detail);
        send_frame(*c, std::move(frame));
    }
    produce_answered(p.connection, p.cost);
}

bool HttpServer::hook_deliver(Connection& c, const ClientBound& event,
                              const std::shared_ptr<std::string>& frame) {
    if (!plugins_) return false;
    const bool runs = plugins_->runs(Hook::on_deliver, event.queue);
    if (!runs && c.hooked_out.steps.empty()) return false;
    const std::uint64_t ticket = c.hooked_out.add();
    const std::uint64_t serial = c.serial;
    if (!runs) {
        step_ready(serial, false, ticket, [this, serial, queue = event.queue, offset = event.offset, frame] {
            if (Connection* to = sessions_.find(serial)) send_live(*to, queue, offset, frame);
        });
        return true;
    }
    delivery_calls_.add(event.queue, event.id, event.offset, event.ts, event.data, c.hook_client);
    hooked_deliveries_.push_back({serial, ticket, event.queue, event.id, event.offset, event.ts, frame});
    return true;
}

void HttpServer::delivery_decided(const HookedDelivery& h, const Verdict& v) {
    Connection* to = sessions_.find(h.serial);
    // A drop or a rejection: this recipient does not get it.
    if (!to || v.kind != Verdict::Kind::pass) return;
    auto out = h.frame;
    if (v.data) {
        out = new_frame();
        encode_message(*out, h.queue, h.id, *v.data, h.ts, h.offset);
    }
    send_live(*to, h.queue, h.offset, std::move(out));
}

bool HttpServer::hook_connect(Connection& c, std::string session, bool resuming,
                              std::optional<std::uint64_t> ref) {
    if (!plugins_ || !plugins_->runs(Hook::on_connect, "")) return false;
    c.admitting = true;
    update_reading(c);  // frames read meanwhile wait in held_frames
    std::string client = "{";
    add_field(client, "session", json::quote(session));
    add_field(client, "user", quoted_or_null(c.admission.user));
    add_field(client, "claims", c.admission.claims.empty() ? "null" : c.admission.claims);
    add_field(client, "resumed", resuming ? "true" : "false");
    if (c.hook_request.size() > 2) {  // origin, ip, path, headers
        client += ',';
        client.append(c.hook_request, 1, c.hook_request.size() - 2);
    }
    client += '}';
    plugins::CallText call{Hook::on_connect, client, {}, {}};
    plugins_->run(Hook::on_connect, "", std::move(call),
                  [this, serial = c.serial, session = std::move(session), resuming,
                   ref](Verdict v, std::string who) {
                      post([this, serial, session, resuming, ref, v = std::move(v),
                            who = std::move(who)] {
                          Connection* conn = sessions_.find(serial);
                          if (!conn || conn->close_code) return;
                          conn->admitting = false;
                          if (v.kind != Verdict::Kind::pass) {
                              const Errc code = v.failed ? Errc::plugin_failed : Errc::plugin_rejected;
                              std::string reason = v.reason.empty() ? "refused by plugin " + who : v.reason;
                              auto frame = new_frame();
                              encode_error(*frame, ref, code, reason);
                              send_frame(*conn, std::move(frame));
                              const int close = v.close_code ? v.close_code : static_cast<int>(code);
                              // A close reason is at most 123 bytes (RFC 6455).
                              if (reason.size() > 120) reason.resize(120);
                              close_connection(*conn, close, reason);
                              return;
                          }
                          welcome(*conn, session, resuming);
                          update_reading(*conn);
                          for (std::string& text : std::exchange(conn->held_frames, {})) {
                              conn = sessions_.find(serial);
                              if (!conn || conn->close_code) return;
                              handle_frame(*conn, text);
                          }
                      });
                  });
    return true;
}

void HttpServer::hook_disconnect(const Connection& c) {
    if (!plugins_ || c.session.empty() || !plugins_->runs(Hook::on_disconnect, "")) return;
    std::string close = "{";
    add_field(close, "code", std::to_string(c.close_code));
    close += '}';
    plugins_->run(Hook::on_disconnect, "", plugins::CallText{Hook::on_disconnect, c.hook_client, {}, close},
                  [](Verdict, std::string) {});
}

void HttpServer::plugin_produce(plugins::PluginProduce m, std::function<void(const Status&)> done) {
    post([this, m = std::move(m), done = std::move(done)]() mutable {
        const std::uint64_t connection = kPluginProducer | ++plugin_produced_;
        if (done) plugin_produces_.emplace(connection, std::move(done));
        std::string session = m.session.empty() ? "plugin:" + m.plugin : std::move(m.session);
        produced_.push_back({.connection = connection,
                             .ref = 0,
                             .session = std::move(session),
                             .queue = std::move(m.queue),
                             .data = std::move(m.data),
                             .delay_ms = m.delay_ms});
    });
}

bool HttpServer::plugin_answered(const ClientBound& event) {
    if (!(event.connection & kPluginProducer)) return false;
    auto waiting = plugin_produces_.find(event.connection);
    if (waiting == plugin_produces_.end()) return true;
    auto done = std::move(waiting->second);
    plugin_produces_.erase(waiting);
    done(event.kind == ClientBound::Kind::ack ? Status{} : Status{make_error(event.code, event.detail)});
    return true;
}

void HttpServer::make_hook_client(Connection& c) {
    std::string client = "{";
    add_field(client, "session", json::quote(c.session));
    add_field(client, "user", quoted_or_null(c.admission.user));
    add_field(client, "claims", c.admission.claims.empty() ? "null" : c.admission.claims);
    client += '}';
    c.hook_client = std::move(client);
}

}  // namespace adashta::edge
