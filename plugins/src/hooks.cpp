#include "adashta/plugins/hooks.hpp"

namespace adashta::plugins {

std::string_view failure_name(Failure failure) {
    switch (failure) {
        case Failure::none: return "none";
        case Failure::error: return "error";
        case Failure::time: return "time";
        case Failure::memory: return "memory";
    }
    return "error";
}

Verdict apply_policy(const Manifest& manifest, const Outcome& outcome) {
    if (outcome.failure == Failure::none) return outcome.verdict;
    Verdict v;
    if (manifest.failure == FailurePolicy::closed) {
        v.kind = Verdict::Kind::reject;
        v.reason = "plugin " + manifest.name + " failed";
        v.failed = true;
    }
    return v;
}

}  // namespace adashta::plugins
