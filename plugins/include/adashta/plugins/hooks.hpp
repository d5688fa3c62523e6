// What the edge hands a plugin's hook and what it gets back: the same for the Lua runtime
// and the JavaScript plugin host (docs/plugins.md, "Hooks").
//
//   Call call{Hook::on_message, R"({"queue":"chat","id":"m1"})", R"({"text":"hi"})", client_json};
//   Outcome out = plugin.call(call);
//   Verdict v = apply_policy(manifest, out);   // a failure becomes pass or plugin_failed
//   if (v.kind == Verdict::Kind::pass && v.data) data = *v.data;
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "adashta/plugins/manifest.hpp"

namespace adashta::plugins {

// on_http (an HTTP request for /plugins/NAME/..., edge/src/plugin_routes.hpp) goes through
// the same Call and Verdict, so the chain and PluginInstance stay as they are:
//   subject  the request, {"method":"POST","path":"/rest","query":{"a":"1"},
//            "headers":{"content-type":"..."},"body":"text"} (path: after /plugins/NAME,
//            always starting with "/"; query decoded; header names lower-case; body "" if none)
//   data, context  "" (none)
//   answer   Verdict::Kind::pass with data {"status":200,"headers":{"name":"value"},
//            "body":"text"} (the runtime made a table/object body JSON text and set its
//            content-type); pass with data nullopt: the hook returned nothing, the edge
//            answers 404. A failure (error, time, memory) is answered 500 by the edge.

// One hook call. Every part is JSON text that outlives the call.
struct Call {
    Hook hook = Hook::on_message;  // which hook runs
    std::string_view subject;      // the message without its data (on_message, on_deliver,
                                   // on_produce), or the client (on_connect, on_disconnect)
    std::string_view data;         // the message's data, as the sender wrote it; "" if none
    std::string_view context;      // the client (on_message, on_deliver), the node
                                   // (on_produce), the close (on_disconnect); "" if none
};

struct Verdict {
    enum class Kind {
        pass,    // the message goes on (with data, when the plugin changed it)
        drop,    // the message stops here; the sender is told plugin_dropped with reason
        reject,  // the message is refused; the sender gets plugin_rejected with reason (for
                 // on_connect: the connection is closed with close_code and reason)
    };
    Kind kind = Kind::pass;
    std::optional<std::string> data;  // pass only: the new data as JSON; nullopt: unchanged
    std::string reason;               // drop and reject: what the sender is told
    int close_code = 0;               // reject in on_connect: 4000-4999, 0 for the default
    bool failed = false;              // reject: the failure policy's (plugin_failed), not
                                      // the plugin's own verdict
};

// How a call went wrong, for metrics (adashta_plugin_failures_total{reason}).
enum class Failure {
    none,
    error,   // the hook raised an error or returned something that is not a verdict
    time,    // it ran past its callMs limit and was stopped
    memory,  // it asked for more than its memoryMB limit and was stopped
};
std::string_view failure_name(Failure failure);  // "error", "time", "memory"

struct Outcome {
    Verdict verdict;                 // what the hook decided, when failure is none
    Failure failure = Failure::none; // else why there is no verdict
    std::string error;               // what went wrong, for the log: "main.lua:3: ..."
};

// The verdict a call stands for: its own, or on a failure the plugin's failure policy:
// open passes the message unchanged, closed rejects it (the caller answers plugin_failed).
Verdict apply_policy(const Manifest& manifest, const Outcome& outcome);

}  // namespace adashta::plugins
