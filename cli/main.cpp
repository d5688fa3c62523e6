// adashta — the command line: run an edge, and poke a running mesh.
#include <iostream>
#include <string_view>

#include "adashta/version.hpp"
#include "args.hpp"
#include "commands.hpp"

namespace {

constexpr std::string_view kUsage =
    R"(Adashta Queue — real-time messaging between browsers and server applications.

Usage: adashta COMMAND [ARGS...]

Commands:
  edge [APP_DIR]          run an edge: serves /adashta.js, /ws, /healthz and APP_DIR
  produce QUEUE DATA      send DATA (JSON) to the clients consuming QUEUE, or to one (--to)
  consume QUEUE           print what browser clients produce to QUEUE
  peers                   list the live members of a mesh
  fetch QUEUE             print what the edge keeps of QUEUE, consumed or not
  cancel ID               drop a scheduled message before its time
  queues COMMAND          RSMQ-style work queues: create, send, receive, delete, ...
  keys new|show FILE      make or show a mesh member's CURVE key pair
  token --sub USER ...    mint a browser connection token (JWT) for development and tests
  config check FILE       check an edge config file as `adashta edge --config FILE` would
  config show [FLAGS]     the edge's effective settings and where each comes from
  plugin COMMAND          plugins from a hub: search, info, install, update, list, remove;
                          new and test for writing one
  hub COMMAND             host a plugin hub: init, keygen, publish

Options:
  --help                  this text; `adashta COMMAND --help` explains one command
  --version               print the version

Server nodes and the tools join a mesh through --seeds or ADASHTA_SEEDS
(default tcp://127.0.0.1:7700, the local edge).

Logs go to stderr; ADASHTA_LOG_FORMAT=json writes them as JSON lines, ADASHTA_LOG_LEVEL
(debug, info, warn, error) is the lowest level written (docs/operations.md).
)";

}  // namespace

int main(int argc, char** argv) {
    using namespace adashta::cli;
    if (argc < 2) {
        std::cerr << kUsage;
        return 2;
    }
    const std::string_view command{argv[1]};
    if (command == "--help" || command == "-h" || command == "help") {
        std::cout << kUsage;
        return 0;
    }
    if (command == "--version" || command == "-V" || command == "version") {
        std::cout << "adashta " << adashta::kVersion << "\n";
        return 0;
    }
    if (command == "edge") return cmd_edge(argc - 2, argv + 2);
    if (command == "produce") return cmd_produce(argc - 2, argv + 2);
    if (command == "consume") return cmd_consume(argc - 2, argv + 2);
    if (command == "peers") return cmd_peers(argc - 2, argv + 2);
    if (command == "fetch") return cmd_fetch(argc - 2, argv + 2);
    if (command == "cancel") return cmd_cancel(argc - 2, argv + 2);
    if (command == "queues") return cmd_queues(argc - 2, argv + 2);
    if (command == "keys") return cmd_keys(argc - 2, argv + 2);
    if (command == "token") return cmd_token(argc - 2, argv + 2);
    if (command == "config") return cmd_config(argc - 2, argv + 2);
    if (command == "plugin") return cmd_plugin(argc - 2, argv + 2);
    if (command == "hub") return cmd_hub(argc - 2, argv + 2);
    constexpr std::string_view kCommands[] = {"edge",  "produce", "consume", "peers", "fetch",
                                              "cancel", "queues", "keys", "token", "config",
                                              "plugin", "hub"};
    std::cerr << "adashta: unknown command \"" << command << "\"";
    if (auto close = nearest(command, kCommands)) std::cerr << " (did you mean " << *close << "?)";
    std::cerr << "; run `adashta --help` for the list\n";
    return 2;
}
