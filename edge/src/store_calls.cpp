#include "store_calls.hpp"

#include <algorithm>
#include <utility>

#include "adashta/ids.hpp"
#include "adashta/json.hpp"

namespace adashta::edge {
namespace {

using json::ObjectView;

// Reads an optional whole-number member; bad_timeout/bad_option when it is not one.
Result<std::optional<std::int64_t>> optional_int(const ObjectView& args, std::string_view key,
                                                 Errc code = Errc::bad_timeout) {
    const auto raw = args.raw(key);
    if (!raw || *raw == "null") return std::optional<std::int64_t>{};
    const auto value = args.integer(key);
    if (!value) return make_error(code, "\"" + std::string{key} + "\" must be a whole number");
    return std::optional<std::int64_t>{*value};
}

Result<std::string> required_string(const ObjectView& args, std::string_view key) {
    auto value = args.string(key);
    if (!value)
        return make_error(Errc::bad_frame, "\"" + std::string{key} + "\" (a string) is missing");
    return std::move(*value);
}

std::string job_json(const store::ReceivedMessage& job) {
    return "{\"id\":" + json::quote(job.id) + ",\"message\":" + json::quote(job.body) +
           ",\"rc\":" + std::to_string(job.rc) + ",\"fr\":" + std::to_string(job.fr_ms) +
           ",\"sent\":" + std::to_string(job.sent_ms) + "}";
}

// A batch's strings ("messages", "ids"): 1 to kMaxBatch of them, each a JSON string.
Result<std::vector<std::string>> string_list(const ObjectView& args, std::string_view key) {
    const auto raw = args.raw(key);
    const std::string what = "\"" + std::string{key} + "\" (an array of 1 to " +
                             std::to_string(StoreCalls::kMaxBatch) + " strings)";
    if (!raw) return make_error(Errc::bad_frame, what + " is missing");
    auto elements = json::array_elements(*raw);
    if (!elements) return make_error(Errc::bad_frame, what + ": " + elements.error().detail);
    if (elements->empty() || elements->size() > StoreCalls::kMaxBatch)
        return make_error(Errc::bad_option, what + " has " + std::to_string(elements->size()));
    std::vector<std::string> out;
    out.reserve(elements->size());
    for (std::string_view element : *elements) {
        auto text = json::unquote(element);
        if (!text) return make_error(Errc::bad_frame, what + " holds something else");
        out.push_back(std::move(*text));
    }
    return out;
}

std::string attributes_json(const store::QueueAttributes& a) {
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

}  // namespace

struct StoreCalls::Waiter {
    std::string queue;
    std::optional<std::int64_t> vt_ms;
    std::int64_t deadline_ms = 0;
    bool pop = false;
    std::size_t max = 1;   // jobs one answer may carry
    bool batch = false;    // answer {"jobs":[...]} (wq.receiveBatch) rather than one job
    bool done = false;     // answered
    bool waiting = false;  // in waiting_, with a timer of this round
    std::uint64_t round = 0;
    Reply reply;
};

namespace {
// What a receive answers: wq.receive and wq.pop one job or {}, wq.receiveBatch {"jobs":[...]}.
std::string answer_of(bool batch, const std::vector<store::ReceivedMessage>& jobs) {
    if (!batch) return jobs.empty() ? "{}" : job_json(jobs.front());
    std::string out = "{\"jobs\":[";
    for (std::size_t i = 0; i < jobs.size(); ++i) out.append(i ? "," : "").append(job_json(jobs[i]));
    return out + "]}";
}

// The store's completion for an op: replies with the op's result or its error.
store::Store::Done reply_with(std::shared_ptr<std::string> result, StoreCalls::Reply reply,
                              std::function<void()> after = {}) {
    return [result = std::move(result), reply = std::move(reply),
            after = std::move(after)](const Status& s) {
        if (!s) {
            reply(static_cast<int>(s.error().code), s.error().detail, {});
            return;
        }
        reply(0, {}, result->empty() ? "{}" : std::move(*result));
        if (after) after();
    };
}
}  // namespace

void StoreCalls::run(Op op, Reply reply, std::string wakes, std::size_t jobs) {
    auto result = std::make_shared<std::string>();
    std::function<void()> after;
    if (!wakes.empty()) after = [this, wakes = std::move(wakes), jobs] { wake(wakes, jobs); };
    store_.write([op = std::move(op), result](store::Tx& tx) { return op(tx, *result); },
                 reply_with(result, std::move(reply), std::move(after)));
}

void StoreCalls::run_read(Op op, Reply reply) {
    auto result = std::make_shared<std::string>();
    store_.read([op = std::move(op), result](store::Tx& tx) { return op(tx, *result); },
                reply_with(result, std::move(reply)));
}

void StoreCalls::call(std::string_view op, std::string_view args_json, Reply reply) {
    auto parsed = ObjectView::parse(args_json.empty() ? std::string_view{"{}"} : args_json);
    if (!parsed) {
        reply(static_cast<int>(Errc::bad_json), parsed.error().detail, {});
        return;
    }
    const ObjectView& args = *parsed;
    auto fail = [&](const Error& e) { reply(static_cast<int>(e.code), e.detail, {}); };

    if (op == "wq.list") {
        return run_read(
            [](store::Tx& tx, std::string& out) -> Status {
                auto names = tx.work.list_queues();
                if (!names) return names.error();
                out = "{\"queues\":[";
                for (std::size_t i = 0; i < names->size(); ++i)
                    out.append(i ? "," : "").append(json::quote((*names)[i]));
                out += "]}";
                return {};
            },
            std::move(reply));
    }
    if (op == "cancel") {
        auto id = required_string(args, "id");
        if (!id) return fail(id.error());
        return run([id = *id](store::Tx& tx, std::string&) { return tx.streams.cancel(id); },
                   std::move(reply));
    }
    if (op == "fetch") {
        auto queue = required_string(args, "queue");
        auto from = optional_int(args, "from", Errc::bad_frame);
        auto since = optional_int(args, "since", Errc::bad_frame);
        auto limit = optional_int(args, "limit", Errc::bad_frame);
        if (!queue) return fail(queue.error());
        for (const auto* r : {&from, &since, &limit})
            if (!*r) return fail(r->error());
        store::ReadFilter filter;
        filter.from_offset = from->value_or(0);
        filter.since_ms = since->value_or(0);
        filter.limit = static_cast<std::size_t>(
            std::clamp<std::int64_t>(limit->value_or(100), 1, store::kMaxRead));
        filter.everything = true;  // a server node sees every message of the queue
        filter.max_bytes = kMaxFetchBytes;
        return run_read(
            [queue = *queue, filter](store::Tx& tx, std::string& out) -> Status {
                auto read = tx.streams.read(queue, filter, tx.now_ms);
                if (!read) return read.error();
                out = "{\"messages\":[";
                std::int64_t next = std::max<std::int64_t>(filter.from_offset, 1);
                for (std::size_t i = 0; i < read->size(); ++i) {
                    const auto& m = (*read)[i];
                    out += (i ? ",{\"id\":" : "{\"id\":") + json::quote(m.id) +
                           ",\"offset\":" + std::to_string(m.offset) +
                           ",\"client\":" + json::quote(m.client) + ",\"data\":" + m.data +
                           ",\"ts\":" + std::to_string(m.created_ms) + "}";
                    next = m.offset + 1;
                }
                out += "],\"next\":" + std::to_string(next) + "}";
                return {};
            },
            std::move(reply));
    }

    // The work-queue operations all name their queue qname, as in RSMQ.
    auto qname = required_string(args, "qname");
    if (!qname) return fail(qname.error());
    const std::string queue = *qname;
    auto vt = optional_int(args, "vt");
    auto delay = optional_int(args, "delay");
    auto maxsize = optional_int(args, "maxsize", Errc::bad_option);
    auto max_receive = optional_int(args, "maxReceive", Errc::bad_option);
    for (const auto* r : {&vt, &delay, &maxsize, &max_receive})
        if (!*r) return fail(r->error());
    const auto dead_letter = args.string("deadLetter");

    if (op == "wq.create") {
        store::QueueOptions options;
        if (*vt) options.vt_ms = **vt;
        if (*delay) options.delay_ms = **delay;
        if (*maxsize) options.maxsize = **maxsize;
        if (*max_receive) options.max_receive = **max_receive;
        if (dead_letter) options.dead_letter = *dead_letter;
        return run(
            [queue, options](store::Tx& tx, std::string&) {
                return tx.work.create_queue(queue, options, tx.now_ms);
            },
            std::move(reply));
    }
    if (op == "wq.drop")  // every waiter learns at once that its queue is gone
        return run([queue](store::Tx& tx, std::string&) { return tx.work.delete_queue(queue); },
                   std::move(reply), queue, kEveryWaiter);
    if (op == "wq.attributes")
        return run(
            [queue](store::Tx& tx, std::string& out) -> Status {
                auto a = tx.work.queue_attributes(queue, tx.now_ms);
                if (!a) return a.error();
                out = attributes_json(*a);
                return {};
            },
            std::move(reply));
    if (op == "wq.set")
        return run(
            [queue,
             changes = store::QueueOptionChanges{*vt, *delay, *maxsize, *max_receive, dead_letter}](
                store::Tx& tx, std::string& out) -> Status {
                auto a = tx.work.set_queue_attributes(queue, changes, tx.now_ms);
                if (!a) return a.error();
                out = attributes_json(*a);
                return {};
            },
            std::move(reply));
    if (op == "wq.send") {
        auto message = required_string(args, "message");
        if (!message) return fail(message.error());
        return run(
            [queue, body = *message, d = *delay](store::Tx& tx, std::string& out) -> Status {
                auto id = tx.work.send(queue, body, d, tx.now_ms);
                if (!id) return id.error();
                out = "{\"id\":" + json::quote(*id) + "}";
                return {};
            },
            std::move(reply), queue);
    }
    if (op == "wq.sendBatch") {
        auto messages = string_list(args, "messages");
        if (!messages) return fail(messages.error());
        const std::size_t count = messages->size();
        // One savepoint for the batch: every job is stored, or none is.
        return run(
            [queue, bodies = std::move(*messages), d = *delay](store::Tx& tx,
                                                               std::string& out) -> Status {
                auto ids = tx.work.send_batch(queue, bodies, d, tx.now_ms);
                if (!ids) return ids.error();
                out = "{\"ids\":[";
                for (std::size_t i = 0; i < ids->size(); ++i) {
                    if (i) out += ',';
                    json::append_quoted(out, (*ids)[i]);
                }
                out += "]}";
                return {};
            },
            std::move(reply), queue, count);
    }
    if (op == "wq.deleteBatch") {
        auto ids = string_list(args, "ids");
        if (!ids) return fail(ids.error());
        return run(
            [queue, ids = std::move(*ids)](store::Tx& tx, std::string& out) -> Status {
                auto deleted = tx.work.delete_batch(queue, ids);
                if (!deleted) return deleted.error();
                out = "{\"deleted\":[";
                for (std::size_t i = 0; i < deleted->size(); ++i) {
                    out += i ? "," : "";
                    out += (*deleted)[i] ? "true" : "false";
                }
                out += "]}";
                return {};
            },
            std::move(reply));
    }
    if (op == "wq.delete") {
        auto id = required_string(args, "id");
        if (!id) return fail(id.error());
        return run(
            [queue, id = *id](store::Tx& tx, std::string& out) -> Status {
                auto deleted = tx.work.delete_message(queue, id);
                if (!deleted) return deleted.error();
                out = *deleted ? "{\"deleted\":true}" : "{\"deleted\":false}";
                return {};
            },
            std::move(reply));
    }
    if (op == "wq.visibility") {
        auto id = required_string(args, "id");
        if (!id) return fail(id.error());
        if (!*vt) return fail(make_error(Errc::bad_timeout, "\"vt\" is missing"));
        return run(
            [queue, id = *id, v = **vt](store::Tx& tx, std::string&) {
                return tx.work.change_visibility(queue, id, v, tx.now_ms);
            },
            std::move(reply), queue);
    }
    if (op == "wq.receive" || op == "wq.pop" || op == "wq.receiveBatch") {
        auto wait = optional_int(args, "wait");
        if (!wait) return fail(wait.error());
        const std::int64_t wait_ms = wait->value_or(0);
        if (wait_ms < 0 || wait_ms > kMaxWaitMs)
            return fail(make_error(Errc::bad_timeout,
                                   "\"wait\" must be 0 to " + std::to_string(kMaxWaitMs) + " ms"));
        auto waiter = std::make_shared<Waiter>();
        if (op == "wq.receiveBatch") {
            auto max = optional_int(args, "max", Errc::bad_option);
            if (!max) return fail(max.error());
            const std::int64_t m = max->value_or(1);
            if (m < 1 || m > static_cast<std::int64_t>(kMaxBatch))
                return fail(make_error(Errc::bad_option,
                                       "\"max\" must be 1 to " + std::to_string(kMaxBatch)));
            waiter->max = static_cast<std::size_t>(m);
            waiter->batch = true;
        }
        waiter->queue = queue;
        waiter->vt_ms = *vt;
        waiter->deadline_ms = now_ms() + wait_ms;
        waiter->pop = op == "wq.pop";
        waiter->reply = std::move(reply);
        return attempt(waiter);
    }
    fail(make_error(Errc::unknown_type, "no store call named \"" + std::string{op} + "\""));
}

// One try at receiving for a waiter; if nothing is there and it may wait, it waits for a
// send, a visibility change, the next hidden message's time, or its deadline.
void StoreCalls::attempt(const std::shared_ptr<Waiter>& waiter) {
    struct Outcome {
        std::vector<store::ReceivedMessage> jobs;
        std::optional<std::int64_t> next_visible;
    };
    auto outcome = std::make_shared<Outcome>();
    store_.write(
        [waiter, outcome](store::Tx& tx) -> Status {
            if (waiter->pop) {
                auto job = tx.work.pop(waiter->queue, tx.now_ms);
                if (!job) return job.error();
                if (*job) outcome->jobs.push_back(std::move(**job));
            } else {
                auto jobs =
                    tx.work.receive_batch(waiter->queue, waiter->max, waiter->vt_ms, tx.now_ms);
                if (!jobs) return jobs.error();
                outcome->jobs = std::move(*jobs);
            }
            if (outcome->jobs.empty()) {
                auto next = tx.work.next_visible_ms(waiter->queue);
                if (next) outcome->next_visible = *next;
            }
            return {};
        },
        [this, waiter, outcome](const Status& status) {
            if (waiter->done) return;
            const std::int64_t now = now_ms();
            if (!status || !outcome->jobs.empty() || now >= waiter->deadline_ms || ending_) {
                waiter->done = true;
                if (!status)
                    waiter->reply(static_cast<int>(status.error().code), status.error().detail, {});
                else
                    waiter->reply(0, {}, answer_of(waiter->batch, outcome->jobs));
                // Leaving empty-handed while a hidden job falls due later: a send woke only
                // this waiter, so the next one takes over the wait for that job's time.
                if (status && outcome->jobs.empty() && outcome->next_visible)
                    wake(waiter->queue, 1);
                return;
            }
            // Wait: a send or visibility change on the queue (wake), the next hidden message's
            // time, or the deadline, whichever comes first; only one of them retries.
            waiter->waiting = true;
            const std::uint64_t round = ++waiter->round;
            waiting_[waiter->queue].push_back(waiter);
            std::int64_t until = waiter->deadline_ms;
            if (outcome->next_visible)
                until = std::min(until, std::max(*outcome->next_visible, now));
            store_.after(std::chrono::milliseconds{until - now}, [this, waiter, round] {
                if (!waiter->waiting || waiter->round != round) return;
                waiter->waiting = false;
                std::erase(waiting_[waiter->queue], waiter);
                attempt(waiter);
            });
        });
}

void StoreCalls::end_waits() {
    ending_ = true;
    for (auto& [queue, waiters] : std::exchange(waiting_, {}))
        for (auto& waiter : waiters) {
            waiter->waiting = false;  // its timer, if it fires before the store stops, is void
            waiter->done = true;
            waiter->reply(0, {}, answer_of(waiter->batch, {}));
        }
}

// Wakes the longest-waiting receivers of queue, one per job that became receivable: each
// woken receiver costs a store round, and waking all of them for one job only sends the
// others back to wait. A woken receiver that finds nothing (someone else took the job, or it
// is delayed) waits again, with a timer for the next hidden job's time; if its own wait
// ends first, it hands the wake on (attempt), so a delayed job always has a waiter's timer.
void StoreCalls::wake(const std::string& queue, std::size_t jobs) {
    auto it = waiting_.find(queue);
    if (it == waiting_.end()) return;
    auto& waiters = it->second;
    const std::size_t woken = std::min(jobs, waiters.size());
    std::vector<std::shared_ptr<Waiter>> now{waiters.begin(),
                                             waiters.begin() + static_cast<std::ptrdiff_t>(woken)};
    waiters.erase(waiters.begin(), waiters.begin() + static_cast<std::ptrdiff_t>(woken));
    if (waiters.empty()) waiting_.erase(it);
    for (auto& waiter : now) {
        waiter->waiting = false;
        attempt(waiter);
    }
}

}  // namespace adashta::edge
