// The C++ conformance driver (tests/conformance/DRIVER.md): one adashta::Node that does what
// JSON lines on stdin tell it, answering and reporting events as JSON lines on stdout.
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 ./build/adashta-conformance-driver
//   {"cmd":"connect","ref":1,"options":{"name":"n1"}}
//   {"cmd":"consume","ref":2,"queue":"work","behavior":"echo"}
//
// Every command runs on a thread of its own, so a long-poll receive holds up nothing else;
// stdout is written one whole line at a time under a lock. Logs go to stderr.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "adashta/json.hpp"
#include "adashta/node.hpp"
#include "adashta/work_queues.hpp"

namespace {

using namespace adashta;
using std::chrono::milliseconds;

std::mutex g_out_mutex;  // guards stdout

void emit(const std::string& line) {
    std::lock_guard lock{g_out_mutex};
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

std::string ok_line(std::int64_t ref, std::string_view result) {
    return "{\"ref\":" + std::to_string(ref) + ",\"ok\":true,\"result\":" + std::string{result} +
           "}";
}

std::string error_line(std::int64_t ref, const Error& error) {
    const ErrorInfo info = error_info(error.code);
    return "{\"ref\":" + std::to_string(ref) + ",\"ok\":false,\"error\":{\"code\":" +
           std::to_string(static_cast<int>(error.code)) + ",\"name\":" + json::quote(info.name) +
           ",\"message\":" + json::quote(error.to_string()) + "}}";
}

std::string quoted_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        json::append_quoted(out, items[i]);
    }
    return out + "]";
}

// A string array member of o (missing or not strings: empty).
std::vector<std::string> strings_of(const json::ObjectView& o, std::string_view key) {
    std::vector<std::string> out;
    auto elements = json::array_elements(o.raw(key).value_or("[]"));
    if (!elements) return out;
    for (auto element : *elements) out.push_back(json::unquote(element).value_or(""));
    return out;
}

std::optional<milliseconds> ms_of(const json::ObjectView& o, std::string_view key) {
    if (auto v = o.integer(key)) return milliseconds{*v};
    return std::nullopt;
}

// A member that RSMQ gives as a string; other JSON is passed on as its text.
std::string text_of(const json::ObjectView& o, std::string_view key) {
    if (auto s = o.string(key)) return *s;
    return std::string{o.raw(key).value_or("")};
}

// What a consume's handler does with each message (DRIVER.md "Handler behaviors").
struct Behavior {
    enum class Kind { ack, echo, throw_always, panic, throw_once, hold, sleep };
    Kind kind = Kind::ack;
    milliseconds sleep{0};  // Kind::sleep
};

std::optional<Behavior> behavior_of(std::string_view name) {
    using K = Behavior::Kind;
    if (name == "ack") return Behavior{K::ack};
    if (name == "echo") return Behavior{K::echo};
    if (name == "throw") return Behavior{K::throw_always};
    if (name == "panic") return Behavior{K::panic};
    if (name == "throwOnce") return Behavior{K::throw_once};
    if (name == "hold") return Behavior{K::hold};
    if (name.starts_with("sleep:")) {
        const std::string ms{name.substr(6)};
        char* end = nullptr;
        const long value = std::strtol(ms.c_str(), &end, 10);
        if (ms.empty() || *end != '\0' || value < 0) return std::nullopt;
        return Behavior{K::sleep, milliseconds{value}};
    }
    return std::nullopt;
}

struct Panic {};  // not a std::exception: the "panic" behavior throws it

// The threads of one queue consumed with concurrency above 1: one lane per thread, and each
// client's messages always on the same lane, so they are handled in the order they came
// while different clients' messages are handled at once.
class Pool {
public:
    explicit Pool(std::size_t threads) {
        for (std::size_t i = 0; i < threads; ++i) {
            lanes_.push_back(std::make_unique<Lane>());
            std::thread{[lane = lanes_.back().get()] { lane->run(); }}
                .detach();  // the driver ends with _Exit, never joins
        }
    }
    void post(const std::string& client, std::function<void()> task) {
        lanes_[std::hash<std::string>{}(client) % lanes_.size()]->post(std::move(task));
    }

private:
    struct Lane {
        std::mutex mutex;  // guards tasks
        std::condition_variable wakeup;
        std::deque<std::function<void()>> tasks;

        void post(std::function<void()> task) {
            {
                std::lock_guard lock{mutex};
                tasks.push_back(std::move(task));
            }
            wakeup.notify_one();
        }
        void run() {
            for (;;) {
                std::function<void()> task;
                {
                    std::unique_lock lock{mutex};
                    wakeup.wait(lock, [&] { return !tasks.empty(); });
                    task = std::move(tasks.front());
                    tasks.pop_front();
                }
                task();
            }
        }
    };
    std::vector<std::unique_ptr<Lane>> lanes_;  // never destroyed while the driver runs
};

class Driver {
public:
    // Runs one command line (on its own thread) and prints its answer.
    void handle(const std::string& line) {
        auto command = json::ObjectView::parse(line);
        if (!command) {
            emit(error_line(0, command.error()));
            return;
        }
        const std::int64_t ref = command->integer("ref").value_or(0);
        const std::string cmd = command->string("cmd").value_or("");
        Result<std::string> answer = run(cmd, *command);
        if (answer)
            emit(ok_line(ref, *answer));
        else
            emit(error_line(ref, answer.error()));
        if (cmd == "close") finish();
    }

    // Closes the node (Bye to its peers) and ends the process, whatever threads still wait.
    [[noreturn]] void finish() {
        if (auto node = node_ptr()) node->stop();
        std::fflush(stdout);
        std::_Exit(0);
    }

private:
    Result<std::string> run(const std::string& cmd, const json::ObjectView& c) {
        if (cmd == "connect") return connect(c);
        if (cmd == "close") return std::string{"{}"};
        Node* node = node_ptr();
        if (!node) return make_error(Errc::not_started, "send connect first");
        if (cmd == "consume") return consume(*node, c);
        if (cmd == "unconsume") {
            node->unconsume(c.string("queue").value_or(""));
            return std::string{"{}"};
        }
        if (cmd == "produce" || cmd == "produceRaw") return produce(*node, cmd, c);
        if (cmd == "fetch") return fetch(*node, c);
        if (cmd == "cancel") {
            auto cancelled = node->cancel(c.string("id").value_or(""));
            if (!cancelled) return cancelled.error();
            return std::string{"{}"};
        }
        if (cmd == "wq") return wq(*node, c);
        if (cmd == "peers") return peers(*node);
        if (cmd == "settle") return settle(c);
        return make_error(Errc::unknown_type, "no command \"" + cmd + "\"");
    }

    Node* node_ptr() {
        std::lock_guard lock{mutex_};
        return node_.get();
    }

    Result<std::string> connect(const json::ObjectView& c) {
        std::lock_guard connect_lock{connect_mutex_};
        if (node_ptr()) return make_error(Errc::not_allowed, "connected already");
        NodeOptions options = NodeOptions::from_env();
        milliseconds edge_wait{10000};  // options.connectTimeout (ms) may shorten it
        if (auto raw = c.raw("options")) {
            auto o = json::ObjectView::parse(*raw);
            if (!o) return o.error();
            if (auto name = o->string("name")) options.name = *name;
            if (o->has("seeds")) options.seeds = strings_of(*o, "seeds");
            if (auto bind = o->string("bind")) options.bind = *bind;
            if (auto advertise = o->string("advertise")) options.advertise = *advertise;
            if (auto wait = o->integer("connectTimeout"); wait && *wait > 0)
                edge_wait = milliseconds{*wait};
        }
        name_ = options.name;
        auto node = std::make_unique<Node>(options);
        node->on_connection([](const ClientEvent& e) {
            emit("{\"event\":\"connection\",\"client\":" + json::quote(e.client) +
                 ",\"user\":" + json::quote(e.user) +
                 ",\"resumed\":" + (e.resumed ? "true" : "false") + "}");
        });
        node->on_disconnection([](const ClientEvent& e) {
            emit("{\"event\":\"disconnection\",\"client\":" + json::quote(e.client) +
                 ",\"user\":" + json::quote(e.user) + "}");
        });
        node->on_error([](const HandlerError& e) { report_error(e.queue, e.message_id, e.what); });
        if (auto started = node->start(); !started) return started.error();
        Node& running = *node;
        {
            std::lock_guard lock{mutex_};
            node_ = std::move(node);
        }
        if (!running.wait_for_edges(1, edge_wait))
            return make_error(Errc::no_edge, "no edge counted this node in within " +
                                                 std::to_string(edge_wait.count()) + " ms");
        return "{\"id\":" + json::quote(running.id()) +
               ",\"endpoint\":" + json::quote(running.endpoint()) + "}";
    }

    static void report_error(const std::string& queue, const std::string& id,
                             const std::string& what) {
        emit("{\"event\":\"handlerError\",\"queue\":" + json::quote(queue) +
             ",\"id\":" + json::quote(id) + ",\"message\":" + json::quote(what) + "}");
    }

    static void report_message(const Message& m) {
        emit("{\"event\":\"message\",\"queue\":" + json::quote(m.queue) +
             ",\"id\":" + json::quote(m.id) + ",\"client\":" + json::quote(m.client) +
             ",\"user\":" + json::quote(m.user) + ",\"data\":" + m.data +
             ",\"offset\":" + std::to_string(m.offset) +
             ",\"receiveCount\":" + std::to_string(m.receive_count) + "}");
    }

    // The behavior's work, on the handler thread or a pool thread; throws for throw and
    // panic. hold keeps the message's Delivery (taken here, or given by the pool's handler)
    // and reports the message once it is kept; the callers report every other behavior's.
    void perform(Node& node, const Behavior& b, const Message& m, Delivery* taken) {
        using K = Behavior::Kind;
        switch (b.kind) {
            case K::ack:
                return;
            case K::echo: {
                const std::string reply =
                    "{\"node\":" + json::quote(name_) + ",\"data\":" + m.data + "}";
                if (auto sent = node.produce(m.queue, reply, {.to = m.client}); !sent)
                    std::cerr << "driver: echo: " << sent.error().to_string() << "\n";
                return;
            }
            case K::throw_always:
                throw std::runtime_error("the throw behavior threw on message " + m.id);
            case K::panic:
                throw Panic{};
            case K::throw_once:
                if (m.receive_count == 1)
                    throw std::runtime_error("the throwOnce behavior threw on message " + m.id);
                return;
            case K::hold: {
                Delivery d = taken ? std::move(*taken) : node.defer(m);
                {
                    std::lock_guard lock{mutex_};
                    held_[m.id] = std::move(d);
                }
                report_message(m);  // held before it is reported: a settle after it finds it
                return;
            }
            case K::sleep:
                std::this_thread::sleep_for(b.sleep);
                emit("{\"event\":\"done\",\"id\":" + json::quote(m.id) + "}");
                return;
        }
    }

    Result<std::string> consume(Node& node, const json::ObjectView& c) {
        const std::string queue = c.string("queue").value_or("");
        const std::string name = c.string("behavior").value_or("ack");
        const auto behavior = behavior_of(name);
        if (!behavior) return make_error(Errc::bad_option, "no behavior \"" + name + "\"");
        const std::int64_t concurrency = c.integer("concurrency").value_or(1);
        Status consumed;
        if (concurrency <= 1) {
            consumed = node.consume(queue, [this, &node, b = *behavior](const Message& m) {
                if (b.kind != Behavior::Kind::hold) report_message(m);
                perform(node, b, m, nullptr);  // what it throws, the node reports (on_error)
            });
        } else {
            // Handlers run one at a time: take each message, and let the pool work on it
            // (one client's messages in order, different clients' at once).
            auto pool = std::make_shared<Pool>(static_cast<std::size_t>(concurrency));
            consumed = node.consume(queue, [this, &node, pool, b = *behavior](const Message& m) {
                if (b.kind != Behavior::Kind::hold) report_message(m);
                auto d = std::make_shared<Delivery>(node.defer(m));
                pool->post(m.client, [this, &node, b, m, d] {
                    try {
                        perform(node, b, m, d.get());
                        d->ack();  // after hold: empty, so nothing
                    } catch (const std::exception& e) {
                        report_error(m.queue, m.id, e.what());
                        d->release();
                    } catch (...) {
                        report_error(m.queue, m.id, "an exception that is not a std::exception");
                        d->release();
                    }
                });
            });
        }
        if (!consumed) return consumed.error();
        // Announced: peers() returns after the mesh thread ran the consume (which sent the
        // Hello with the queue), and the edge answers a call on the same connection only
        // after it read that Hello.
        (void)node.peers();
        auto listed = node.call("wq.list", "{}");
        if (!listed && listed.error().code != Errc::no_edge) return listed.error();
        return std::string{"{}"};
    }

    Result<std::string> produce(Node& node, const std::string& cmd, const json::ObjectView& c) {
        ProduceOptions options;
        options.to = c.string("to").value_or("");
        options.to_user = c.string("toUser").value_or("");
        options.delay = ms_of(c, "delay").value_or(milliseconds{0});
        options.deliver_at_ms = c.integer("deliverAt").value_or(0);
        options.confirm = c.boolean("confirm").value_or(false);
        const std::string data = cmd == "produceRaw" ? c.string("text").value_or("")
                                                     : std::string{c.raw("data").value_or("null")};
        auto id = node.produce(c.string("queue").value_or(""), data, options);
        if (!id) return id.error();
        return "{\"id\":" + json::quote(*id) + "}";
    }

    Result<std::string> fetch(Node& node, const json::ObjectView& c) {
        FetchOptions options;
        options.from = c.integer("from").value_or(0);
        options.since_ms = c.integer("since").value_or(0);
        if (auto limit = c.integer("limit")) options.limit = static_cast<std::size_t>(*limit);
        auto got = node.fetch(c.string("queue").value_or(""), options);
        if (!got) return got.error();
        std::string out = "{\"messages\":[";
        for (std::size_t i = 0; i < got->messages.size(); ++i) {
            const StoredMessage& m = got->messages[i];
            if (i) out += ',';
            out += "{\"id\":" + json::quote(m.id) + ",\"offset\":" + std::to_string(m.offset) +
                   ",\"client\":" + json::quote(m.client) + ",\"data\":" + m.data +
                   ",\"ts\":" + std::to_string(m.created_ms) + "}";
        }
        return out + "],\"next\":" + std::to_string(got->next) + "}";
    }

    Result<std::string> peers(Node& node) {
        std::string out = "{\"peers\":[";
        const auto list = node.peers();
        for (std::size_t i = 0; i < list.size(); ++i) {
            const PeerSummary& p = list[i];
            if (i) out += ',';
            out += "{\"id\":" + json::quote(p.id) + ",\"name\":" + json::quote(p.name) +
                   ",\"endpoint\":" + json::quote(p.endpoint) + ",\"role\":" + json::quote(p.role) +
                   ",\"queues\":" + quoted_list(p.queues) + "}";
        }
        return out + "]}";
    }

    Result<std::string> settle(const json::ObjectView& c) {
        const std::string id = c.string("id").value_or("");
        Delivery d;
        {
            std::lock_guard lock{mutex_};
            auto it = held_.find(id);
            if (it == held_.end())
                return make_error(Errc::unknown_message, "the driver holds no message " + id);
            d = std::move(it->second);
            held_.erase(it);
        }
        if (c.boolean("ok").value_or(false))
            d.ack();
        else
            d.release();
        return std::string{"{}"};
    }

    static std::string job_text(const Job& j) {
        return "{\"id\":" + json::quote(j.id) + ",\"message\":" + json::quote(j.message) +
               ",\"rc\":" + std::to_string(j.rc) + ",\"fr\":" + std::to_string(j.fr_ms) +
               ",\"sent\":" + std::to_string(j.sent_ms) + "}";
    }

    static std::string attributes_text(const WorkQueueAttributes& a) {
        return "{\"vt\":" + std::to_string(a.vt_ms) + ",\"delay\":" + std::to_string(a.delay_ms) +
               ",\"maxsize\":" + std::to_string(a.maxsize) +
               ",\"totalrecv\":" + std::to_string(a.totalrecv) +
               ",\"totalsent\":" + std::to_string(a.totalsent) +
               ",\"created\":" + std::to_string(a.created_ms) +
               ",\"modified\":" + std::to_string(a.modified_ms) +
               ",\"msgs\":" + std::to_string(a.msgs) +
               ",\"hiddenmsgs\":" + std::to_string(a.hiddenmsgs) +
               ",\"maxReceive\":" + std::to_string(a.max_receive) +
               ",\"deadLetter\":" + json::quote(a.dead_letter) +
               ",\"totaldead\":" + std::to_string(a.totaldead) + "}";
    }

    // RSMQ's names and option names onto WorkQueues (times in ms).
    Result<std::string> wq(Node& node, const json::ObjectView& c) {
        const std::string op = c.string("op").value_or("");
        const std::string_view args_text = c.raw("args").value_or("{}");
        auto parsed = json::ObjectView::parse(args_text);
        if (!parsed) return parsed.error();
        const json::ObjectView& a = *parsed;
        const std::string qname = a.string("qname").value_or("");
        WorkQueues queues{node};
        WorkQueueOptions options;
        options.vt = ms_of(a, "vt");
        options.delay = ms_of(a, "delay");
        options.maxsize = a.integer("maxsize");
        options.max_receive = a.integer("maxReceive");
        if (auto dead = a.string("deadLetter")) options.dead_letter = *dead;
        const ReceiveOptions receive{.vt = ms_of(a, "vt"),
                                     .wait = ms_of(a, "wait").value_or(milliseconds{0})};
        const auto done = [](const Status& s) -> Result<std::string> {
            if (!s) return s.error();
            return std::string{"{}"};
        };
        const auto job_or_none = [](const Result<std::optional<Job>>& j) -> Result<std::string> {
            if (!j) return j.error();
            return *j ? job_text(**j) : std::string{"{}"};
        };
        if (op == "createQueue") return done(queues.create_queue(qname, options));
        if (op == "deleteQueue") return done(queues.delete_queue(qname));
        if (op == "listQueues") {
            auto names = queues.list_queues();
            if (!names) return names.error();
            return "{\"queues\":" + quoted_list(*names) + "}";
        }
        if (op == "getQueueAttributes" || op == "setQueueAttributes") {
            auto attributes = op == "getQueueAttributes"
                                  ? queues.get_queue_attributes(qname)
                                  : queues.set_queue_attributes(qname, options);
            if (!attributes) return attributes.error();
            return attributes_text(*attributes);
        }
        if (op == "sendMessage") {
            auto id = queues.send_message(qname, text_of(a, "message"), ms_of(a, "delay"));
            if (!id) return id.error();
            return "{\"id\":" + json::quote(*id) + "}";
        }
        if (op == "sendMessageBatch") {
            auto ids = queues.send_messages(qname, strings_of(a, "messages"), ms_of(a, "delay"));
            if (!ids) return ids.error();
            return "{\"ids\":" + quoted_list(*ids) + "}";
        }
        if (op == "receiveMessage") return job_or_none(queues.receive_message(qname, receive));
        if (op == "popMessage") return job_or_none(queues.pop_message(qname, receive.wait));
        if (op == "receiveMessageBatch") {
            const auto max = static_cast<std::size_t>(a.integer("max").value_or(1));
            auto jobs = queues.receive_messages(qname, max, receive);
            if (!jobs) return jobs.error();
            std::string out = "{\"jobs\":[";
            for (std::size_t i = 0; i < jobs->size(); ++i) out += (i ? "," : "") + job_text((*jobs)[i]);
            return out + "]}";
        }
        if (op == "deleteMessage") {
            auto deleted = queues.delete_message(qname, a.string("id").value_or(""));
            if (!deleted) return deleted.error();
            return std::string{"{\"deleted\":"} + (*deleted ? "true" : "false") + "}";
        }
        if (op == "deleteMessageBatch") {
            auto deleted = queues.delete_messages(qname, strings_of(a, "ids"));
            if (!deleted) return deleted.error();
            std::string out = "{\"deleted\":[";
            for (std::size_t i = 0; i < deleted->size(); ++i)
                out += std::string{i ? "," : ""} + ((*deleted)[i] ? "true" : "false");
            return out + "]}";
        }
        if (op == "changeMessageVisibility")
            return done(queues.change_message_visibility(
                qname, a.string("id").value_or(""), ms_of(a, "vt").value_or(milliseconds{0})));
        return make_error(Errc::unknown_type, "no work queue op \"" + op + "\"");
    }

    // Locks: connect_mutex_ is taken before mutex_, never after.
    std::mutex connect_mutex_;     // one connect at a time
    std::mutex mutex_;             // guards node_, held_
    std::unique_ptr<Node> node_;   // set by connect, never destroyed (finish() ends the process)
    std::string name_;             // the node's name, for echo; written before node_ is set
    std::map<std::string, Delivery> held_;  // messages kept by the hold behavior, by id
};

}  // namespace

int main() {
    std::ios::sync_with_stdio(false);
    static Driver driver;  // outlives every command thread: the process ends in finish()
    emit("{\"event\":\"ready\"}");
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        std::thread{[line] { driver.handle(line); }}.detach();
    }
    driver.finish();
}
