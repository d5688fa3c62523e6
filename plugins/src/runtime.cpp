#include "adashta/plugins/runtime.hpp"

#include <atomic>
#include <memory>

namespace adashta::plugins {

void PluginInstance::call_batch(std::span<const Call> calls, BatchAnswer done) {
    if (calls.empty()) return done({});
    struct Gather {
        std::vector<Outcome> outcomes;
        std::atomic<std::size_t> left;
        BatchAnswer done;
    };
    auto gather = std::make_shared<Gather>();
    gather->outcomes.resize(calls.size());
    gather->left = calls.size();
    gather->done = std::move(done);
    for (std::size_t i = 0; i < calls.size(); ++i) {
        const Call& c = calls[i];
        call(CallText{c.hook, std::string{c.subject}, std::string{c.data}, std::string{c.context}},
             [gather, i](Outcome out) {
                 gather->outcomes[i] = std::move(out);
                 if (--gather->left == 0) gather->done(gather->outcomes);
             });
    }
}

}  // namespace adashta::plugins
