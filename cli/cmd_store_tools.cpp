// adashta fetch / cancel / queues: calls to an edge's store from the shell. Each prints the
// edge's JSON answer on one line, so scripts can read it.
#include <iostream>
#include <limits>

#include "adashta/json.hpp"
#include "adashta/store/queue_settings.hpp"
#include "args.hpp"
#include "commands.hpp"
#include "mesh_join.hpp"

namespace adashta::cli {
namespace {

constexpr std::string_view kFetchHelp =
    R"(Usage: adashta fetch QUEUE [--from OFFSET | --since MS] [--limit N] [OPTIONS]

Prints what the edge keeps of QUEUE (its retention), even messages that were consumed
already: {"messages":[{"id","offset","client","data","ts"}...],"next":OFFSET}. Fetch again
--from the printed "next" for what follows.

Options:
  --from OFFSET           first offset (default: the oldest kept)
  --since MS              or: messages the edge stored at or after this time (ms since
                          the epoch)
  --limit N               at most N messages, 1 to 1000 (default 100)
)";

constexpr std::string_view kCancelHelp = R"(Usage: adashta cancel ID [OPTIONS]

Drops a scheduled message (produce --delay / --deliver-at) before its time. Fails with
unknown_message when it was delivered already.
)";

constexpr std::string_view kQueuesHelp = R"(Usage: adashta queues COMMAND QNAME [ARGS] [OPTIONS]

RSMQ-style work queues between server nodes: a job sent to a queue is received by one
receiver, hidden from the others for the visibility timeout (vt), and comes back if it is
not deleted in time. Times take units: 1500, 1500ms, 30s, 5m, 2h.

Commands:
  list                          the queues
  create QNAME                  [--vt 30s] [--delay 0] [--maxsize 65536 | -1]
                                [--max-receive N --dead-letter QNAME]: after N receives
                                a job moves to the dead-letter queue
  attributes QNAME              vt, delay, maxsize, totalrecv, totalsent, created,
                                modified, msgs, hiddenmsgs, maxReceive, deadLetter, totaldead
  set QNAME                     [--vt T] [--delay T] [--maxsize N] [--max-receive N]
                                [--dead-letter QNAME]
  drop QNAME                    delete the queue and its jobs
  send QNAME MESSAGE            [--delay T]; prints {"id"}
  receive QNAME                 [--vt T] [--wait T]: waits up to --wait for a job; prints
                                {"id","message","rc","fr","sent"}, or {} when none came
  pop QNAME                     [--wait T]: receive and delete at once
  delete QNAME ID               prints {"deleted":true|false}
  visibility QNAME ID --vt T    hide (or show, --vt 0) the job for T from now
)";

// Joins, makes one call, prints its answer.
int call_and_print(const Args& args, std::string_view op, const std::string& call_args,
                   std::chrono::milliseconds timeout) {
    const NodeOptions options = join_options(args, true, "adashta-cli");
    Node node{options};
    if (auto joined = join(node, args, options); !joined) return fail(joined.error());
    auto result = node.call(op, call_args, timeout);
    node.stop();
    if (!result) return fail(result.error());
    std::cout << *result << "\n";
    return 0;
}

// Appends ,"key":<ms> for a duration flag that is set.
Status add_duration(std::string& out, const Args& args, std::string_view flag,
                    std::string_view key) {
    if (!args.has(flag)) return {};
    auto ms = store::parse_duration_ms(args.value(flag));
    if (!ms)
        return make_error(Errc::bad_timeout, "--" + std::string{flag} + ": " + ms.error().detail);
    out += ",\"" + std::string{key} + "\":" + std::to_string(*ms);
    return {};
}

}  // namespace

int cmd_fetch(int argc, char** argv) {
    static constexpr Flag kFlags[] = {{"from", true},  {"since", true},      {"limit", true},
                                      {"seeds", true}, {"mesh-key", true}, {"mesh-allow", true}, {"timeout-ms", true}, {"help", false}};
    auto args = parse_args(argc, argv, kFlags, "fetch");
    if (!args) return fail(args.error());
    if (int code = help_or_usage(*args, kFetchHelp, 1); code >= 0) return code;
    auto from = args->number("from", 0, 0, std::numeric_limits<std::int64_t>::max());
    auto since = args->number("since", 0, 0, std::numeric_limits<std::int64_t>::max());
    auto limit = args->number("limit", 100, 1, 1000);
    for (const auto* r : {&from, &since, &limit})
        if (!*r) return fail(r->error());
    std::string call =
        "{\"queue\":" + json::quote(args->positional[0]) + ",\"limit\":" + std::to_string(*limit);
    call +=
        *since > 0 ? ",\"since\":" + std::to_string(*since) : ",\"from\":" + std::to_string(*from);
    call += "}";
    return call_and_print(*args, "fetch", call, std::chrono::seconds{10});
}

int cmd_cancel(int argc, char** argv) {
    static constexpr Flag kFlags[] = {{"seeds", true}, {"mesh-key", true}, {"mesh-allow", true}, {"timeout-ms", true}, {"help", false}};
    auto args = parse_args(argc, argv, kFlags, "cancel");
    if (!args) return fail(args.error());
    if (int code = help_or_usage(*args, kCancelHelp, 1); code >= 0) return code;
    return call_and_print(*args, "cancel", "{\"id\":" + json::quote(args->positional[0]) + "}",
                          std::chrono::seconds{10});
}

int cmd_queues(int argc, char** argv) {
    static constexpr Flag kFlags[] = {{"vt", true},    {"delay", true},       {"maxsize", true},
                                      {"wait", true},  {"max-receive", true}, {"dead-letter", true},
                                      {"seeds", true}, {"mesh-key", true}, {"mesh-allow", true}, {"timeout-ms", true},  {"help", false}};
    auto args = parse_args(argc, argv, kFlags, "queues");
    if (!args) return fail(args.error());
    const auto& p = args->positional;
    if (args->has("help") || p.empty()) {
        (args->has("help") ? std::cout : std::cerr) << kQueuesHelp << kJoinHelp.substr(1);
        return args->has("help") ? 0 : 2;
    }
    const std::string& command = p[0];
    struct Shape {
        std::string_view command;
        std::string_view op;
        std::size_t positionals;  // after the command
    };
    static constexpr Shape kShapes[] = {
        {"list", "wq.list", 0},
        {"create", "wq.create", 1},
        {"attributes", "wq.attributes", 1},
        {"set", "wq.set", 1},
        {"drop", "wq.drop", 1},
        {"send", "wq.send", 2},
        {"receive", "wq.receive", 1},
        {"pop", "wq.pop", 1},
        {"delete", "wq.delete", 2},
        {"visibility", "wq.visibility", 2},
    };
    const Shape* shape = nullptr;
    for (const auto& s : kShapes)
        if (s.command == command) shape = &s;
    if (!shape)
        return fail(make_error(Errc::bad_option,
                               "no queues command \"" + command + "\"; see adashta queues --help"));
    if (p.size() != shape->positionals + 1)
        return fail(make_error(Errc::bad_option, "queues " + command + " takes " +
                                                     std::to_string(shape->positionals) +
                                                     " argument(s); see adashta queues --help"));
    std::string call = "{";
    if (shape->positionals >= 1) call += "\"qname\":" + json::quote(p[1]);
    if (command == "send") call += ",\"message\":" + json::quote(p[2]);
    if (command == "delete" || command == "visibility") call += ",\"id\":" + json::quote(p[2]);
    for (auto [flag, key] : {std::pair{"vt", "vt"}, {"delay", "delay"}, {"wait", "wait"}})
        if (auto ok = add_duration(call, *args, flag, key); !ok) return fail(ok.error());
    if (args->has("maxsize")) {
        auto maxsize = args->number("maxsize", 0, -1, 64LL << 20);
        if (!maxsize) return fail(maxsize.error());
        call += ",\"maxsize\":" + std::to_string(*maxsize);
    }
    if (args->has("max-receive")) {
        auto n = args->number("max-receive", 0, 0, 1'000'000);
        if (!n) return fail(n.error());
        call += ",\"maxReceive\":" + std::to_string(*n);
    }
    if (args->has("dead-letter"))
        call += ",\"deadLetter\":" + json::quote(args->value("dead-letter"));
    if (call.size() > 1 && call[1] == ',') call.erase(1, 1);
    call += "}";
    // A receive may wait: give the call that long and some more.
    auto wait = store::parse_duration_ms(args->value("wait", "0"));
    const auto timeout = std::chrono::milliseconds{10'000 + (wait ? *wait : 0)};
    return call_and_print(*args, shape->op, call, timeout);
}

}  // namespace adashta::cli
