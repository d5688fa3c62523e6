#include "options.hpp"

#include <charconv>
#include <cstdlib>

namespace {

std::string default_url(Proto p) {
    switch (p) {
        case Proto::adashta:
            return "ws://127.0.0.1:8080/ws";
        case Proto::socketio:
            return "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket";
        case Proto::ws:
            return "ws://127.0.0.1:8081/";
        case Proto::nats:
            return "ws://127.0.0.1:8222/";
    }
    return {};
}

bool parse_number(std::string_view text, double& out) {
    if (text.empty()) return false;
    std::string copy{text};
    char* end = nullptr;
    out = std::strtod(copy.c_str(), &end);
    return end == copy.c_str() + copy.size() && out >= 0;
}

bool parse_int(std::string_view text, long long& out) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && ptr == text.data() + text.size() && out >= 0;
}

std::optional<Scenario> parse_scenario(std::string_view s) {
    if (s == "ingress") return Scenario::ingress;
    if (s == "reqrep") return Scenario::reqrep;
    if (s == "idle") return Scenario::idle;
    if (s == "durable") return Scenario::durable;
    return std::nullopt;
}

std::optional<Proto> parse_proto(std::string_view s) {
    if (s == "adashta") return Proto::adashta;
    if (s == "socketio") return Proto::socketio;
    if (s == "ws") return Proto::ws;
    if (s == "nats") return Proto::nats;
    return std::nullopt;
}

// Walks the "--flag value" pairs after the scenario: on_flag(flag, value) answers an error
// ("" when the pair is fine). Stops at --help or the first error, which it puts in parsed;
// false then.
template <class OnFlag>
bool walk_flags(int argc, char** argv, ParsedArgs& parsed, OnFlag on_flag) {
    for (int i = 2; i < argc; ++i) {
        std::string_view flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            parsed.help = true;
            return false;
        }
        if (i + 1 >= argc) {
            parsed.error = "missing value for " + std::string{flag};
            return false;
        }
        std::string error = on_flag(flag, std::string_view{argv[++i]});
        if (!error.empty()) {
            parsed.error = std::move(error);
            return false;
        }
    }
    return true;
}

ParsedArgs parse_nats_app(int argc, char** argv) {
    ParsedArgs parsed;
    NatsAppOptions o;
    bool have_mode = false;
    const bool walked = walk_flags(
        argc, argv, parsed, [&](std::string_view flag, std::string_view value) -> std::string {
            if (flag == "--url") {
                o.url = value;
            } else if (flag == "--mode") {
                if (value != "sink" && value != "echo" && value != "both")
                    return "--mode must be sink, echo or both";
                o.sink = value != "echo";
                o.echo = value != "sink";
                have_mode = true;
            } else {
                return "unknown flag " + std::string{flag};
            }
            return {};
        });
    if (!walked) return parsed;
    if (!have_mode) {
        parsed.error = "nats-app needs --mode sink|echo|both";
        return parsed;
    }
    parsed.nats_app = o;
    return parsed;
}

}  // namespace

std::string_view scenario_name(Scenario s) {
    switch (s) {
        case Scenario::ingress:
            return "ingress";
        case Scenario::reqrep:
            return "reqrep";
        case Scenario::idle:
            return "idle";
        case Scenario::durable:
            return "durable";
    }
    return "?";
}

std::string_view proto_name(Proto p) {
    switch (p) {
        case Proto::adashta:
            return "adashta";
        case Proto::socketio:
            return "socketio";
        case Proto::ws:
            return "ws";
        case Proto::nats:
            return "nats";
    }
    return "?";
}

std::string usage() {
    return "usage: adashta-bench ingress|reqrep|idle|durable --proto adashta|socketio|ws|nats "
           "--url URL\n"
           "         [--connections N=100] [--duration S=10] [--rate R=0] [--size B=64]\n"
           "         [--window W=16] [--hold S=10] [--source-ips K=1] [--token JWT]\n"
           "         [--phases N=1 (reqrep: the next phase starts on SIGUSR1)]\n"
           "       adashta-bench nats-app --url nats://127.0.0.1:4222 --mode sink|echo|both\n";
}

ParsedArgs parse_args(int argc, char** argv) {
    ParsedArgs parsed;
    if (argc < 2) {
        parsed.error = "missing scenario";
        return parsed;
    }
    std::string_view first = argv[1];
    if (first == "--help" || first == "-h") {
        parsed.help = true;
        return parsed;
    }
    if (first == "nats-app") return parse_nats_app(argc, argv);
    auto scenario = parse_scenario(first);
    if (!scenario) {
        parsed.error = "unknown scenario " + std::string{first};
        return parsed;
    }
    BenchOptions o;
    o.scenario = *scenario;
    bool have_proto = false;
    const bool walked = walk_flags(
        argc, argv, parsed, [&](std::string_view flag, std::string_view value) -> std::string {
            double number = 0;
            long long integer = 0;
            bool ok = true;
            if (flag == "--proto") {
                auto p = parse_proto(value);
                ok = p.has_value();
                if (ok) o.proto = *p;
                have_proto = ok;
            } else if (flag == "--url") {
                o.url = value;
            } else if (flag == "--connections") {
                ok = parse_int(value, integer) && integer >= 1 && integer <= 1'000'000;
                o.connections = static_cast<int>(integer);
            } else if (flag == "--duration") {
                ok = parse_number(value, number) && number > 0 && number <= 3600;
                o.duration_s = number;
            } else if (flag == "--rate") {
                ok = parse_number(value, number) && number <= 1e8;
                o.rate = number;
            } else if (flag == "--size") {
                ok = parse_int(value, integer) && integer <= (8 << 20);
                o.size = static_cast<std::size_t>(integer);
            } else if (flag == "--window") {
                ok = parse_int(value, integer) && integer >= 1 && integer <= 65536;
                o.window = static_cast<int>(integer);
            } else if (flag == "--hold") {
                ok = parse_number(value, number) && number <= 86400;
                o.hold_s = number;
            } else if (flag == "--source-ips") {
                ok = parse_int(value, integer) && integer >= 1 && integer <= 254;
                o.source_ips = static_cast<int>(integer);
            } else if (flag == "--phases") {
                ok = parse_int(value, integer) && integer >= 1 && integer <= 16;
                o.phases = static_cast<int>(integer);
            } else if (flag == "--token") {
                // A JWT is base64url in three dot-separated parts: nothing to escape in JSON.
                ok = !value.empty() && value.find_first_not_of(
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789-_.") == std::string_view::npos;
                o.token = value;
            } else {
                return "unknown flag " + std::string{flag};
            }
            if (!ok) return "bad value for " + std::string{flag} + ": " + std::string{value};
            return {};
        });
    if (!walked) return parsed;
    if (!have_proto) {
        parsed.error = "missing --proto";
        return parsed;
    }
    if (o.scenario == Scenario::durable && o.proto != Proto::adashta && o.proto != Proto::nats) {
        parsed.error = "durable is defined for --proto adashta and nats only";
        return parsed;
    }
    if (o.phases > 1 && o.scenario != Scenario::reqrep) {
        parsed.error = "--phases is defined for reqrep only";
        return parsed;
    }
    if (o.url.empty()) o.url = default_url(o.proto);
    parsed.bench = o;
    return parsed;
}
