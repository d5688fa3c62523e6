// The plugins an edge runs, in their configured order, and the walk of one hook call
// through them (docs/plugins.md, "Where plugins run").
//
//   Chain chain(std::move(links));
//   if (chain.runs(Hook::on_message, queue))
//       chain.run(Hook::on_message, queue, std::move(call), [](Verdict v, std::string who) {
//           // on a plugin's thread: hand it back to the edge's own thread
//       });
//   std::vector<ChainItem> items = chain.items_buffer();  // room from an earlier batch
//   ... items.push_back(...) ...
//   chain.run_batch(Hook::on_message, std::move(items), [](std::span<Decision> decided,
//                                                           std::shared_ptr<void> held) {
//       // one for each item, in their order, in held; let it go on the thread that made items
//   });
//
// Each plugin whose queue patterns match gets the call in turn; a changed data goes on to
// the next one, a drop or reject ends the walk. A plugin that fails gets its failure policy
// (open: pass unchanged; closed: reject), and one that fails disable_after times in a row is
// disabled: its calls then get the policy without running, with one log line that says so.
//
// Order: the calls for one (session, queue) enter the chain from one thread in order, and
// every plugin answers in order, so what passes leaves in the order it came. A disabled
// plugin is skipped only once it holds no earlier call, for the same reason.
//
// Threads: run() from any thread; done runs on the thread of the plugin that decided (or
// the caller's, when no plugin runs). The counters are atomics, read from any thread.
// Destroy the chain before anything the done callbacks use: it unloads the plugins first
// to last, and their queued calls are answered (as failures) on the way.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adashta/plugins/hooks.hpp"
#include "adashta/plugins/runtime.hpp"

namespace adashta::plugins {

struct ChainLink {
    std::unique_ptr<PluginInstance> plugin;  // loaded, with its config
    std::vector<std::string> queues;         // patterns it runs for (`*` any run); empty:
                                             // the manifest's, and when that is empty too,
                                             // every queue
};

struct ChainOptions {
    int disable_after = 10;  // failures in a row that disable a plugin
};

// One plugin's counters, for /metrics (adashta_plugin_*{plugin="NAME"}).
struct PluginStats {
    std::string name;                               // the plugin's name
    std::atomic<std::uint64_t> calls{0};            // hook calls answered
    std::atomic<std::uint64_t> changed{0};          // passes with changed data
    std::atomic<std::uint64_t> dropped{0};          // drop verdicts
    std::atomic<std::uint64_t> rejected{0};         // reject verdicts (policy ones included)
    std::array<std::atomic<std::uint64_t>, 3> failures{};  // by Failure: error, time, memory
    std::atomic<std::uint64_t> in_flight{0};        // calls queued or running in it now
    std::atomic<bool> disabled{false};              // failed disable_after times in a row
};

// One call of a batch: its queue (what the plugins' patterns are matched against) and the
// call itself. Views: the batch's maker keeps the texts until the batch's done has run.
struct ChainItem {
    std::string_view queue;  // "" for connection hooks
    Call call;
};

// A batch item's end: the verdict and the plugin that dropped or rejected ("" for pass).
struct Decision {
    Verdict verdict;
    std::string plugin;
};

class Chain {
public:
    using Done = std::function<void(Verdict verdict, std::string plugin)>;
    // held is the walk (its vectors, decided among them, the data plugins changed): whoever
    // drops the last reference gives it back to the chain's spares, best on the thread that
    // made the batch (malloc keeps its blocks in that thread's cache).
    using BatchDone = std::function<void(std::span<Decision> decided, std::shared_ptr<void> held)>;

    explicit Chain(std::vector<ChainLink> links, ChainOptions options = {});
    ~Chain();
    Chain(const Chain&) = delete;
    Chain& operator=(const Chain&) = delete;

    // Whether any plugin has hook for queue ("" for on_connect / on_disconnect, which run
    // for every plugin that has them). Cheap: the edge asks it for every message.
    bool runs(Hook hook, std::string_view queue) const;
    // Walks call through the plugins for (hook, queue). done runs exactly once with the
    // final verdict (its data set when some plugin changed it) and the name of the plugin
    // that dropped or rejected ("" for pass).
    void run(Hook hook, std::string_view queue, CallText call, Done done);
    // The same walk for many calls of one hook at once, as one hand-off to each plugin that
    // runs for some of them (the edge's service round gives one batch). done runs exactly
    // once, with a decision for each item in their order, on the thread of the last plugin
    // asked (the caller's, when none runs). The items view texts the caller keeps until done
    // has run (in done's captures, say); the plugins get the same views: nothing of them is
    // copied or freed on a plugin's thread.
    void run_batch(Hook hook, std::vector<ChainItem> items, BatchDone done);
    // An empty vector for a batch's items, with the room of one decided before, if any (a
    // round of thousands of calls in fresh memory every time had the HTTP thread faulting
    // in pages: a fifth of its time). Any thread.
    std::vector<ChainItem> items_buffer();

    // The loaded plugin called name, or nullptr.
    const PluginInstance* find(std::string_view name) const;
    // Calls one plugin (by name) directly, not through the walk: an on_http route. It counts
    // in that plugin's PluginStats (calls, failures, in_flight, failures in a row) like a
    // walk's call. done runs once with the outcome, on the plugin's thread (a disabled
    // plugin's at once: failure error, "disabled"); false when no such plugin is loaded
    // (done is not called).
    bool call_one(std::string_view name, CallText call, std::function<void(Outcome)> done);

    std::size_t size() const { return links_.size(); }
    const PluginStats& stats(std::size_t i) const { return *links_[i]->stats; }
    // The counters as Prometheus text lines (adashta_plugin_calls_total{plugin="a"} 3 ...).
    std::string metrics() const;

private:
    struct Link {
        std::unique_ptr<PluginInstance> plugin;  // the runtime behind it
        std::vector<std::string> queues;         // patterns; empty: every queue
        std::unique_ptr<PluginStats> stats;      // its counters
        std::atomic<int> failed_in_a_row{0};     // reset by any call that does not fail
        std::mutex log_mutex;                    // guards the two fields below
        std::int64_t last_log_ms = 0;            // when a failure was last logged
        std::uint64_t unlogged = 0;              // failures since then not logged
    };
    struct Walk;
    struct Spares;
    bool matches(const Link& link, Hook hook, std::string_view queue) const;
    // Hands the walk's open items to the next link that runs for some of them, or ends the
    // walk when none is left.
    void step(std::unique_ptr<Walk> walk);
    // The outcome of a call in link: counted, logged, turned into a verdict.
    Verdict judged(Link& link, const Outcome& outcome);
    // The outcome of the walk's item in link: its data changed, or its walk ended.
    void judge(Walk& walk, std::uint32_t item, Link& link, const Outcome& outcome);
    void note_failure(Link& link, const Outcome& outcome);

    std::vector<std::unique_ptr<Link>> links_;  // in configured order; fixed after construction
    ChainOptions options_;                      // as given
    std::shared_ptr<Spares> spares_;            // decided walks' vectors; the walks' deleters share it
};

}  // namespace adashta::plugins
