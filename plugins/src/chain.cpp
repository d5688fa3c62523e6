#include "adashta/plugins/chain.hpp"

#include <chrono>
#include <optional>

#include "adashta/log.hpp"
#include "adashta/token.hpp"

namespace adashta::plugins {

// A batch of hook calls on its way through the chain, link by link. It has one owner at a
// time: the thread that runs it through step(), or, while a plugin has some of its calls,
// that plugin's done callback (a raw pointer: the callback is two pointers, small enough for
// std::function to hold without an allocation, and done runs exactly once, so exactly once
// it is taken back).
struct Chain::Walk {
    Hook hook;                          // which hook
    std::vector<ChainItem> items;       // the calls: data as changed so far
    std::vector<std::string> data;      // per item, once some plugin changed one: its data
    std::vector<Call> views;            // the calls link `link` has now
    std::vector<Decision> decided;      // per item: a drop or reject once one came
    std::vector<std::uint8_t> open;     // per item: every plugin asked so far passed it
    std::vector<std::uint8_t> changed;  // per item: some plugin changed its data
    std::vector<std::uint32_t> asked;   // the items link `link` has now
    std::size_t link = 0;               // the link being asked, or the next to ask
    BatchDone done;                     // who gets the decisions
};

// Decided walks, for their vectors' room: the next batches reuse them instead of new memory.
// A walk's last holder gives it back, on whatever thread; run_batch and items_buffer take.
struct Chain::Spares {
    static constexpr std::size_t kKeep = 4;            // walks, and item vectors, kept
    static constexpr std::size_t kMaxItems = 1 << 16;  // a walk of more is let go
    std::mutex mutex;                                  // guards walks and items
    std::vector<std::unique_ptr<Walk>> walks;
    std::vector<std::vector<ChainItem>> items;

    std::unique_ptr<Walk> take() {
        std::lock_guard lock(mutex);
        if (walks.empty()) return std::make_unique<Walk>();
        std::unique_ptr<Walk> walk = std::move(walks.back());
        walks.pop_back();
        return walk;
    }
    void give_back(Walk* w) {
        std::unique_ptr<Walk> walk{w};
        if (walk->items.capacity() > kMaxItems) return;
        walk->items.clear();
        walk->data.clear();
        walk->views.clear();
        walk->decided.clear();
        walk->open.clear();
        walk->changed.clear();
        walk->asked.clear();
        walk->link = 0;
        walk->done = nullptr;
        std::lock_guard lock(mutex);
        if (items.size() < kKeep) items.push_back(std::move(walk->items));
        if (walks.size() < kKeep) walks.push_back(std::move(walk));
    }
};

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// What a disabled plugin's calls get: its policy, as if the call had failed.
Outcome disabled_outcome() {
    Outcome out;
    out.failure = Failure::error;
    out.error = "disabled";
    return out;
}

}  // namespace

Chain::Chain(std::vector<ChainLink> links, ChainOptions options)
    : options_(options), spares_(std::make_shared<Spares>()) {
    for (auto& l : links) {
        auto link = std::make_unique<Link>();
        link->queues = l.queues.empty() ? l.plugin->manifest().queues : std::move(l.queues);
        link->stats = std::make_unique<PluginStats>();
        link->stats->name = l.plugin->manifest().name;
        link->plugin = std::move(l.plugin);
        links_.push_back(std::move(link));
    }
}

Chain::~Chain() {
    // First to last: the calls a plugin answers while it unloads go on to the ones after it.
    for (auto& link : links_) link->plugin.reset();
}

bool Chain::matches(const Link& link, Hook hook, std::string_view queue) const {
    if (!link.plugin->manifest().has_hook(hook)) return false;
    if (queue.empty() || link.queues.empty()) return true;
    return token::allows(link.queues, queue);
}

bool Chain::runs(Hook hook, std::string_view queue) const {
    for (const auto& link : links_)
        if (matches(*link, hook, queue)) return true;
    return false;
}

void Chain::run(Hook hook, std::string_view queue, CallText call, Done done) {
    // A batch of one that keeps its own texts until it is decided.
    struct One {
        std::string queue;
        CallText call;
    };
    auto one = std::make_shared<One>(One{std::string{queue}, std::move(call)});
    std::vector<ChainItem> items{ChainItem{one->queue, one->call.view()}};
    run_batch(hook, std::move(items),
              [one = std::move(one), done = std::move(done)](std::span<Decision> decided, std::shared_ptr<void>) {
                  done(std::move(decided[0].verdict), std::move(decided[0].plugin));
              });
}

std::vector<ChainItem> Chain::items_buffer() {
    std::lock_guard lock(spares_->mutex);
    if (spares_->items.empty()) return {};
    std::vector<ChainItem> items = std::move(spares_->items.back());
    spares_->items.pop_back();
    return items;
}

void Chain::run_batch(Hook hook, std::vector<ChainItem> items, BatchDone done) {
    std::unique_ptr<Walk> walk = spares_->take();
    walk->hook = hook;
    for (ChainItem& item : items) item.call.hook = hook;
    walk->decided.resize(items.size());
    walk->open.assign(items.size(), 1);
    walk->changed.assign(items.size(), 0);
    walk->items = std::move(items);
    walk->done = std::move(done);
    step(std::move(walk));
}

const PluginInstance* Chain::find(std::string_view name) const {
    for (const auto& link : links_)
        if (link->stats->name == name) return link->plugin.get();
    return nullptr;
}

bool Chain::call_one(std::string_view name, CallText call, std::function<void(Outcome)> done) {
    for (std::size_t index = 0; index < links_.size(); ++index) {
        Link& link = *links_[index];
        if (link.stats->name != name) continue;
        if (link.stats->disabled) {
            ++link.stats->calls;
            done(disabled_outcome());
            return true;
        }
        ++link.stats->in_flight;
        link.plugin->call(std::move(call), [this, index, done = std::move(done)](Outcome out) {
            Link& l = *links_[index];
            --l.stats->in_flight;
            ++l.stats->calls;
            if (out.failure != Failure::none) note_failure(l, out);
            else l.failed_in_a_row = 0;
            done(std::move(out));
        });
        return true;
    }
    return false;
}

void Chain::step(std::unique_ptr<Walk> walk) {
    const auto n = static_cast<std::uint32_t>(walk->items.size());
    for (; walk->link < links_.size(); ++walk->link) {
        Link& link = *links_[walk->link];
        walk->asked.clear();
        // A batch's items mostly share their queue: a match is worked out once a run of them.
        std::optional<std::string_view> last_queue;
        bool last_match = false;
        for (std::uint32_t i = 0; i < n; ++i) {
            if (!walk->open[i]) continue;
            const std::string_view queue = walk->items[i].queue;
            if (queue != last_queue) {
                last_queue = queue;
                last_match = matches(link, walk->hook, queue);
            }
            if (last_match) walk->asked.push_back(i);
        }
        if (walk->asked.empty()) continue;
        // A disabled plugin is passed by only when no earlier call is still inside it.
        if (link.stats->disabled && link.stats->in_flight == 0) {
            for (const std::uint32_t i : walk->asked) judge(*walk, i, link, disabled_outcome());
            continue;
        }
        link.stats->in_flight += walk->asked.size();
        walk->views.clear();
        walk->views.reserve(walk->asked.size());
        for (const std::uint32_t i : walk->asked) walk->views.push_back(walk->items[i].call);
        const std::span<const Call> views{walk->views};
        link.plugin->call_batch(views, [this, w = walk.release()](std::span<Outcome> outcomes) {
            std::unique_ptr<Walk> taken{w};
            Link& asked = *links_[taken->link];
            asked.stats->in_flight -= taken->asked.size();
            for (std::size_t k = 0; k < taken->asked.size(); ++k) {
                Outcome failed;
                if (k >= outcomes.size()) {  // a runtime that answered fewer: as failures
                    failed.failure = Failure::error;
                    failed.error = "the plugin gave no answer for this call";
                }
                judge(*taken, taken->asked[k], asked, k < outcomes.size() ? outcomes[k] : failed);
            }
            ++taken->link;
            step(std::move(taken));
        });
        return;
    }
    for (std::uint32_t i = 0; i < n; ++i)
        if (walk->open[i] && walk->changed[i]) walk->decided[i].verdict.data = std::move(walk->data[i]);
    BatchDone done = std::move(walk->done);
    std::shared_ptr<Walk> held{walk.release(), [spares = spares_](Walk* w) { spares->give_back(w); }};
    const std::span<Decision> decided{held->decided};
    done(decided, std::move(held));
}

Verdict Chain::judged(Link& link, const Outcome& outcome) {
    ++link.stats->calls;
    if (outcome.failure != Failure::none) {
        if (outcome.error != "disabled") note_failure(link, outcome);
    } else {
        link.failed_in_a_row = 0;
    }
    return apply_policy(link.plugin->manifest(), outcome);
}

void Chain::judge(Walk& walk, std::uint32_t item, Link& link, const Outcome& outcome) {
    Verdict verdict = judged(link, outcome);
    PluginStats& stats = *link.stats;
    switch (verdict.kind) {
        case Verdict::Kind::pass:
            if (verdict.data) {
                ++stats.changed;
                if (walk.data.empty()) walk.data.resize(walk.items.size());
                walk.data[item] = std::move(*verdict.data);
                walk.items[item].call.data = walk.data[item];
                walk.changed[item] = 1;
            }
            return;
        case Verdict::Kind::drop: ++stats.dropped; break;
        case Verdict::Kind::reject: ++stats.rejected; break;
    }
    walk.open[item] = 0;
    walk.decided[item] = Decision{std::move(verdict), stats.name};
}

void Chain::note_failure(Link& link, const Outcome& outcome) {
    PluginStats& stats = *link.stats;
    ++stats.failures[static_cast<std::size_t>(outcome.failure) - 1];
    const int in_a_row = ++link.failed_in_a_row;
    const bool disable = in_a_row >= options_.disable_after && !stats.disabled.exchange(true);
    const std::string policy = link.plugin->manifest().failure == FailurePolicy::open
                                   ? "its messages pass unchanged (failure policy open)"
                                   : "its messages are refused with plugin_failed (failure policy closed)";
    if (disable) {
        log::error("plugin " + stats.name,
                   "disabled after " + std::to_string(in_a_row) + " failures in a row (the last: " +
                       outcome.error + "); " + policy +
                       " until it is fixed and loaded again (adashta plugin reload, or SIGHUP)");
        return;
    }
    // At most one line a second for a plugin, with how many were not shown.
    std::lock_guard lock(link.log_mutex);
    const std::int64_t now = now_ms();
    if (now - link.last_log_ms < 1000) {
        ++link.unlogged;
        return;
    }
    std::string line = "failed: " + outcome.error + "; " + policy;
    if (link.unlogged) line += " (" + std::to_string(link.unlogged) + " more failures since the last line)";
    log::warn("plugin " + stats.name, line);
    link.last_log_ms = now;
    link.unlogged = 0;
}

std::string Chain::metrics() const {
    std::string out;
    const auto line = [&out](std::string_view metric, const std::string& name, std::string_view extra,
                             std::uint64_t value) {
        out += metric;
        out += "{plugin=\"";
        out += name;
        out += '"';
        out += extra;
        out += "} ";
        out += std::to_string(value);
        out += '\n';
    };
    for (const auto& link : links_) {
        const PluginStats& s = *link->stats;
        line("adashta_plugin_calls_total", s.name, "", s.calls);
        line("adashta_plugin_changed_total", s.name, "", s.changed);
        line("adashta_plugin_dropped_total", s.name, "", s.dropped);
        line("adashta_plugin_rejected_total", s.name, "", s.rejected);
        for (const Failure f : {Failure::error, Failure::time, Failure::memory}) {
            const std::string reason = ",reason=\"" + std::string{failure_name(f)} + "\"";
            line("adashta_plugin_failures_total", s.name, reason,
                 s.failures[static_cast<std::size_t>(f) - 1]);
        }
        line("adashta_plugin_in_flight", s.name, "", s.in_flight);
        line("adashta_plugin_disabled", s.name, "", s.disabled ? 1 : 0);
    }
    return out;
}

}  // namespace adashta::plugins
