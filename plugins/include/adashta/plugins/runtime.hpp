// A loaded plugin as the edge's plugin chain sees it, whatever runs it: LuaPlugin on the
// plugin's own runner thread, or a worker in the JavaScript plugin host.
//
//   instance.call(CallText{Hook::on_message, subject, data, client},
//                 [](Outcome out) { /* any thread: hand it back to the chain */ });
//   instance.call_batch(views, [](std::span<Outcome> outs) { /* one each; views live till here */ });
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "adashta/plugins/hooks.hpp"
#include "adashta/plugins/manifest.hpp"

namespace adashta::plugins {

// A Call that owns its texts, for calls answered later or on another thread.
struct CallText {
    Hook hook = Hook::on_message;  // which hook runs
    std::string subject;           // as Call::subject
    std::string data;              // as Call::data
    std::string context;           // as Call::context
    Call view() const { return Call{hook, subject, data, context}; }
};

// A batch's outcomes, one per call in their order: the runtime's own buffer, lent for the
// call of done only (take what you keep; moving a string out is fine).
using BatchAnswer = std::function<void(std::span<Outcome> outcomes)>;

class PluginInstance {
public:
    virtual ~PluginInstance() = default;
    virtual const Manifest& manifest() const = 0;
    // Runs one call of a hook the manifest names. done runs exactly once, with the verdict
    // or the failure (an error, a limit, a host that died and did not come back in time),
    // on whatever thread the runtime answers on; it must not block. Calls are answered in
    // the order they were made (the chain keeps order per session and queue on that).
    virtual void call(CallText call, std::function<void(Outcome)> done) = 0;
    // Runs calls in their order, as call() would each, and answers them all at once: done
    // runs exactly once, with one outcome per call in the same order. The calls view texts
    // the caller keeps, and so does the span itself, until done has run: a batch copies and
    // frees nothing of them on the runtime's thread. A runtime that can take many calls in
    // one hand-off overrides it (one queue entry, one wake-up, one answer for the batch);
    // this one makes a call() of each, with copies.
    virtual void call_batch(std::span<const Call> calls, BatchAnswer done);
};

}  // namespace adashta::plugins
