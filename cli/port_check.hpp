// Whether the edge can listen where it was told to, asked before libwebsockets and ZeroMQ
// try: both report a taken port in words that name neither the flag nor what to do.
//
//   if (auto free = check_port_free(args, "http", options.http); !free) return fail(free.error());
#pragma once

#include <string>
#include <string_view>

#include "adashta/result.hpp"
#include "args.hpp"

namespace adashta::cli {

// bind_failed when address (HOST:PORT of the flag named flag) is taken, or cannot be bound
// here; the detail names the flag (or its variable or config key), the address and how to
// pick another: "--http 0.0.0.0:8080: port in use; pick another with --http HOST:PORT (or
// ADASHTA_HTTP)". Addresses it cannot judge (host names, IPv6, "*" ports) pass: the edge
// reports those itself.
Status check_port_free(const Args& args, std::string_view flag, const std::string& address);

}  // namespace adashta::cli
