#include "adashta/plugins/runtime.hpp"

#include <atomic>
#include <memory>

namespace adashta::plugins {

void PluginInstance::call_batch(std::vector<CallText> calls,
                                std::function<void(std::vector<Outcome>)> done) {
    if (calls.empty()) return done({});
    struct Gather {
        std::vector<Outcome> outcomes;
        std::atomic<std::size_t> left;
        std::function<void(std::vector<Outcome>)> done;
    };
    auto gather = std::make_shared<Gather>();
    gather->outcomes.resize(calls.size());
    gather->left = calls.size();
    gather->done = std::move(done);
    for (std::size_t i = 0; i < calls.size(); ++i) {
        call(std::move(calls[i]), [gather, i](Outcome out) {
            gather->outcomes[i] = std::move(out);
            if (--gather->left == 0) gather->done(std::move(gather->outcomes));
        });
    }
}

}  // namespace adashta::plugins
