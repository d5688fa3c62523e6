// adashta-bench: the native load generator of the benchmarks (bench/CONTRACT.md).
//   adashta-bench SCENARIO --proto P --url URL [options]   a load run (Runner)
//   adashta-bench nats-app --url nats://H:P --mode M       the NATS-side application
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "nats_app.hpp"
#include "options.hpp"
#include "runner.hpp"
#include "url.hpp"

namespace {

// Raises the open-file limit to the hard limit; false (with a message) when even that is
// too low for the connections asked.
bool raise_file_limit(int connections) {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    const rlim_t needed = static_cast<rlim_t>(connections) + 32;
    if (limit.rlim_cur < needed) {
        std::fprintf(stderr,
                     "adashta-bench: %d connections need %llu open files but the hard limit is "
                     "%llu; raise it (ulimit -Hn, or LimitNOFILE) and try again\n",
                     connections, static_cast<unsigned long long>(needed),
                     static_cast<unsigned long long>(limit.rlim_max));
        return false;
    }
    return true;
}

void on_hard_stop(int) {
    static constexpr char message[] = "adashta-bench: hard time cap reached, stopping\n";
    [[maybe_unused]] auto n = write(2, message, sizeof message - 1);
    _exit(3);
}

}  // namespace

int main(int argc, char** argv) {
    ParsedArgs parsed = parse_args(argc, argv);
    if (parsed.help) {
        std::cout << usage();
        return 0;
    }
    if (!parsed.error.empty()) {
        std::cerr << "adashta-bench: " << parsed.error << "\n" << usage();
        return 2;
    }
    if (parsed.nats_app) return run_nats_app(*parsed.nats_app);

    const BenchOptions& options = *parsed.bench;
    std::string error;
    auto url = parse_url(options.url, "ws", error);
    if (!url) {
        std::cerr << "adashta-bench: " << error << "\n" << usage();
        return 2;
    }
    if (!raise_file_limit(options.connections)) return 1;
    // Hard stop, whatever happens: the connect phase is bounded per connection, but a stuck
    // run must still end.
    const double cap_s = 60 + options.connections / 500.0 * 15 + options.duration_s + 2 +
                         (options.scenario == Scenario::idle ? options.hold_s : 0) +
                         (options.phases - 1) * (options.duration_s + 2 + max_phase_wait_s) + 30;
    std::signal(SIGALRM, on_hard_stop);
    alarm(static_cast<unsigned>(cap_s));
    Runner runner(options, std::move(*url));
    return runner.run();
}
