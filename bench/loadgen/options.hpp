// Command-line options of adashta-bench (the CLI is fixed by bench/CONTRACT.md).
//
//   Parsed p = parse_args(argc, argv);
//   if (!p.error.empty()) { std::cerr << p.error << "\n" << usage(); return 2; }
//   if (p.nats_app) run_nats_app(*p.nats_app); else Runner(*p.bench).run();
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

enum class Scenario { ingress, reqrep, idle, durable };

// reqrep --phases: how long a finished phase waits for SIGUSR1 before the run gives up.
constexpr double max_phase_wait_s = 120;
enum class Proto { adashta, socketio, ws, nats };

std::string_view scenario_name(Scenario s);
std::string_view proto_name(Proto p);

// A load run: adashta-bench SCENARIO --proto P --url URL [options].
struct BenchOptions {
    Scenario scenario = Scenario::ingress;  // what the run does
    Proto proto = Proto::adashta;           // which wire protocol
    std::string url;                        // ws://... (default per proto)
    int connections = 100;                  // sockets to open
    double duration_s = 10;                 // load phase length (not idle)
    double rate = 0;                        // total msgs/s for reqrep; 0 = closed loop / flat out
    std::size_t size = 64;                  // payload bytes
    int window = 16;                        // durable: outstanding acked publishes per socket
    double hold_s = 10;                     // idle: seconds to hold after all are up
    int source_ips = 1;                     // spread over 127.0.0.1..127.0.0.K
    std::string token;  // adashta: a connection token (JWT) sent in every hello; empty = none
    int phases = 1;     // reqrep: load phases on the same connections; the next starts on SIGUSR1
};

// The NATS-side application: adashta-bench nats-app --url nats://H:P --mode sink|echo|both.
struct NatsAppOptions {
    std::string url = "nats://127.0.0.1:4222";  // plain TCP NATS
    bool sink = true;                           // SUB bench and count (modes sink, both)
    bool echo = false;                          // SUB echo and answer (modes echo, both)
};

struct ParsedArgs {
    std::optional<BenchOptions> bench;       // set for a load run
    std::optional<NatsAppOptions> nats_app;  // set for nats-app
    std::string error;                       // non-empty: bad flags, exit 2 with usage()
    bool help = false;                       // --help: print usage(), exit 0
};

ParsedArgs parse_args(int argc, char** argv);
std::string usage();
