#include "adashta/plugins/chain.hpp"

#include <chrono>

#include "adashta/log.hpp"
#include "adashta/token.hpp"

namespace adashta::plugins {

// One hook call on its way through the chain. It has one owner at a time: the thread that
// runs it through step() and answered(), or, while a plugin has it, that plugin's done
// callback (a raw pointer: the callback is two pointers, small enough for std::function to
// hold without an allocation, and done runs exactly once, so exactly once it is taken back).
struct Chain::Walk {
    Hook hook;               // which hook
    std::string queue;       // the message's queue, "" for connection hooks
    CallText call;           // what the next plugin gets (data as changed so far); while
                             // the last plugin that runs has it, only data when changed
    bool changed = false;    // some plugin changed call.data
    std::size_t next = 0;    // the first link not yet asked
    std::size_t asked = 0;   // the link that has the call now
    Done done;               // who gets the verdict
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

Chain::Chain(std::vector<ChainLink> links, ChainOptions options) : options_(options) {
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
    auto walk = std::make_unique<Walk>();
    walk->hook = hook;
    walk->queue = std::string{queue};
    walk->call = std::move(call);
    walk->call.hook = hook;
    walk->done = std::move(done);
    step(std::move(walk));
}

std::size_t Chain::next_match(const Walk& walk, std::size_t from) const {
    while (from < links_.size() && !matches(*links_[from], walk.hook, walk.queue)) ++from;
    return from;
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
    const std::size_t index = next_match(*walk, walk->next);
    if (index == links_.size()) {
        Verdict pass;
        if (walk->changed) pass.data = std::move(walk->call.data);
        walk->done(std::move(pass), std::string{});
        return;
    }
    walk->next = index + 1;
    walk->asked = index;
    Link& link = *links_[index];
    // A disabled plugin is passed by only when no earlier call is still inside it.
    if (link.stats->disabled && link.stats->in_flight == 0) {
        answered(std::move(walk), disabled_outcome());
        return;
    }
    ++link.stats->in_flight;
    // The last plugin to run takes the texts; one with more to come gets a copy (the walk
    // keeps its own for the next). Changed data is kept: it is the verdict's if this one
    // passes it on unchanged.
    CallText call;
    if (next_match(*walk, index + 1) < links_.size()) {
        call = walk->call;
    } else {
        call.hook = walk->call.hook;
        call.subject = std::move(walk->call.subject);
        call.data = walk->changed ? walk->call.data : std::move(walk->call.data);
        call.context = std::move(walk->call.context);
    }
    link.plugin->call(std::move(call), [this, w = walk.release()](Outcome out) {
        std::unique_ptr<Walk> taken{w};
        --links_[taken->asked]->stats->in_flight;
        answered(std::move(taken), std::move(out));
    });
}

void Chain::answered(std::unique_ptr<Walk> walk, Outcome outcome) {
    Link& link = *links_[walk->asked];
    PluginStats& stats = *link.stats;
    ++stats.calls;
    if (outcome.failure != Failure::none) {
        if (outcome.error != "disabled") note_failure(link, outcome);
    } else {
        link.failed_in_a_row = 0;
    }
    Verdict verdict = apply_policy(link.plugin->manifest(), outcome);
    switch (verdict.kind) {
        case Verdict::Kind::pass:
            if (verdict.data) {
                ++stats.changed;
                walk->call.data = std::move(*verdict.data);
                walk->changed = true;
            }
            step(std::move(walk));
            return;
        case Verdict::Kind::drop: ++stats.dropped; break;
        case Verdict::Kind::reject: ++stats.rejected; break;
    }
    walk->done(std::move(verdict), stats.name);
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
