// nats-app: the SUT-side application of the NATS benchmarks, over plain TCP.
//   sink: SUB bench, count messages.
//   echo: SUB echo, publish each message's payload to its reply subject.
//   both: the two at once (the flood scenario); "received" counts bench, "echoed" echo.
// Runs until SIGTERM/SIGINT (or the server closes), then prints
// {"tool":"nats-app","received":N,"first_ms":..,"last_ms":..,"rate":..} on stdout.
//
//   return run_nats_app(options);   // 0 done, 1 cannot reach the server
#pragma once

#include "options.hpp"

int run_nats_app(const NatsAppOptions& options);
