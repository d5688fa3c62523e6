// adashta produce / consume / peers: short-lived mesh members that talk to a running mesh.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iomanip>
#include <iostream>
#include <limits>
#include <mutex>
#include <thread>

#include "adashta/json.hpp"
#include "adashta/node.hpp"
#include "adashta/store/queue_settings.hpp"
#include "adashta/text.hpp"
#include "args.hpp"
#include "commands.hpp"
#include "mesh_join.hpp"

namespace adashta::cli {
namespace {

constexpr std::string_view kProduceHelp =
    R"(Usage: adashta produce QUEUE DATA [--to CLIENT] [OPTIONS]

Sends DATA, a JSON value, on QUEUE to every browser client consuming QUEUE, or only to
the client (session) id given with --to; now, or later with --delay / --deliver-at. The
edge keeps it (retention), so a client that is offline gets it when it comes back.
Prints the message id (give it to `adashta cancel` to drop a scheduled message) once the
edge has stored it; fails with the edge's error (storage_full, ...) if it could not.

Options:
  --to CLIENT             one client's id (its session id, "s-...")
  --to-user USER          every session of one user (the sub of its token), also offline ones
  --delay DURATION        deliver after this long: 1500, 1500ms, 30s, 5m, 2h, 1d
  --deliver-at MS         deliver at this time (ms since the Unix epoch)
)";

constexpr std::string_view kConsumeHelp = R"(Usage: adashta consume QUEUE [--count N] [OPTIONS]

Joins the mesh as a server node that consumes QUEUE and prints each message browser
clients produce to it as one JSON line: {"id","queue","client","user","data","ts"}. Stops after
N messages (--count), or on Ctrl-C.

Options:
  --count N               stop after N messages (default: run until interrupted)
  --name NAME             label shown by `adashta peers` (default adashta-consume)
)";

constexpr std::string_view kPeersHelp = R"(Usage: adashta peers [--json] [OPTIONS]

Joins the mesh for a moment and lists its live members: id, name, role, endpoint and the
queues each consumes.

Options:
  --json                  one JSON object per line instead of a table
)";

// Why DATA is not JSON, where, and how to quote it in a shell, where the usual mistake is.
std::string bad_data_text(std::string_view data, const json::Failure& failure) {
    std::string where = failure.offset >= data.size()
                            ? "at the end"
                            : "at byte " + std::to_string(failure.offset + 1) + " (" +
                                  std::string{data.substr(failure.offset, 1)} + ")";
    return "DATA is not JSON: " + failure.expected + " " + where +
           "; in a shell put JSON in single quotes, adashta produce news '{\"n\":1}', and a "
           "string in double quotes inside them, '\"hi\"'";
}

}  // namespace

int cmd_produce(int argc, char** argv) {
    static constexpr Flag kFlags[] = {{"to", true},    {"to-user", true}, {"delay", true},      {"deliver-at", true},
                                      {"seeds", true}, {"mesh-key", true}, {"mesh-allow", true}, {"timeout-ms", true}, {"help", false}};
    auto args = parse_args(argc, argv, kFlags, "produce");
    if (!args) return fail(args.error());
    if (int code = help_or_usage(*args, kProduceHelp, 2); code >= 0) return code;
    // The CLI waits for the edge to store the message, so a refusal (a full disk) is shown.
    ProduceOptions produce{.to = args->value("to"), .to_user = args->value("to-user"), .confirm = true};
    if (args->has("delay")) {
        auto delay = store::parse_duration_ms(args->value("delay"));
        if (!delay) return fail(delay.error());
        produce.delay = std::chrono::milliseconds{*delay};
    }
    auto at = args->number("deliver-at", 0, 0, std::numeric_limits<std::int64_t>::max());
    if (!at) return fail(at.error());
    produce.deliver_at_ms = *at;
    const std::string& queue = args->positional[0];
    const std::string& data = args->positional[1];
    if (auto failure = json::first_failure(data))
        return fail(make_error(Errc::bad_data, bad_data_text(data, *failure)));

    const NodeOptions options = join_options(*args, true, "adashta-produce");
    Node node{options};
    if (auto joined = join(node, *args, options); !joined) return fail(joined.error());
    auto sent = node.produce(queue, data, produce);
    if (!sent) return fail(sent.error());
    std::cout << *sent << "\n";
    node.stop();
    return 0;
}

int cmd_consume(int argc, char** argv) {
    static constexpr Flag kFlags[] = {
        {"count", true}, {"name", true}, {"seeds", true}, {"mesh-key", true}, {"mesh-allow", true}, {"timeout-ms", true}, {"help", false}};
    auto args = parse_args(argc, argv, kFlags, "consume");
    if (!args) return fail(args.error());
    if (int code = help_or_usage(*args, kConsumeHelp, 1); code >= 0) return code;
    auto count = args->number("count", 0, 1, 1'000'000'000);
    if (!count) return fail(count.error());

    std::mutex mutex;
    std::condition_variable done;
    std::int64_t seen = 0;
    const NodeOptions options = join_options(*args, false, "adashta-consume");
    Node node{options};
    auto consumed = node.consume(args->positional[0], [&](const Message& m) {
        std::string line = "{\"id\":";
        json::append_quoted(line, m.id);
        line += ",\"queue\":";
        json::append_quoted(line, m.queue);
        line += ",\"client\":";
        json::append_quoted(line, m.client);
        line += ",\"user\":";
        json::append_quoted(line, m.user);
        line += ",\"data\":" + m.data + ",\"ts\":" + std::to_string(m.created_ms) + "}\n";
        std::cout << line << std::flush;
        std::lock_guard lock{mutex};
        if (++seen == *count) done.notify_all();
    });
    if (!consumed) return fail(consumed.error());
    if (auto joined = join(node, *args, options); !joined) return fail(joined.error());
    std::cerr << "adashta: consuming " << args->positional[0] << "; Ctrl-C stops\n";
    if (*count == 0) {
        wait_for_signal();
    } else {
        std::thread signals{[&] {
            wait_for_signal();
            std::lock_guard lock{mutex};
            seen = *count;
            done.notify_all();
        }};
        signals.detach();
        std::unique_lock lock{mutex};
        done.wait(lock, [&] { return seen >= *count; });
    }
    node.stop();
    return 0;
}

int cmd_peers(int argc, char** argv) {
    static constexpr Flag kFlags[] = {
        {"json", false}, {"seeds", true}, {"mesh-key", true}, {"mesh-allow", true}, {"timeout-ms", true}, {"help", false}};
    auto args = parse_args(argc, argv, kFlags, "peers");
    if (!args) return fail(args.error());
    if (int code = help_or_usage(*args, kPeersHelp, 0); code >= 0) return code;

    const NodeOptions options = join_options(*args, true, "adashta-peers");
    Node node{options};
    if (auto joined = join(node, *args, options); !joined) return fail(joined.error());
    // Joining one member is enough: its peer list arrives with the first heartbeats.
    std::this_thread::sleep_for(options.heartbeat + std::chrono::milliseconds{300});
    auto peers = node.peers();
    node.stop();
    std::sort(peers.begin(), peers.end(), [](const auto& a, const auto& b) {
        return std::tie(a.role, a.name, a.id) < std::tie(b.role, b.name, b.id);
    });
    if (args->has("json")) {
        for (const auto& p : peers) {
            std::string line = "{\"id\":" + json::quote(p.id) + ",\"name\":" + json::quote(p.name) +
                               ",\"role\":" + json::quote(p.role) +
                               ",\"endpoint\":" + json::quote(p.endpoint) + ",\"queues\":[";
            for (std::size_t i = 0; i < p.queues.size(); ++i)
                line.append(i ? "," : "").append(json::quote(p.queues[i]));
            std::cout << line << "]}\n";
        }
        return 0;
    }
    std::cout << std::left << std::setw(6) << "ROLE" << std::setw(20) << "NAME" << std::setw(28)
              << "ENDPOINT"
              << "QUEUES\n";
    for (const auto& p : peers) {
        std::string queues;
        for (const auto& q : p.queues) queues += (queues.empty() ? "" : ",") + q;
        std::cout << std::setw(6) << p.role << std::setw(20)
                  << (p.name.empty() ? p.id.substr(0, 8) : p.name) << std::setw(28) << p.endpoint
                  << (queues.empty() ? "-" : queues) << "\n";
    }
    return 0;
}

}  // namespace adashta::cli
