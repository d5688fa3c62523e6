#include "mesh_join.hpp"

#include <iostream>

#include "adashta/text.hpp"

namespace adashta::cli {

NodeOptions join_options(const Args& args, bool tool, std::string name) {
    NodeOptions o = NodeOptions::from_env();
    if (args.has("seeds")) o.seeds = split_list(args.value("seeds"));
    if (args.has("mesh-key")) o.mesh_key = args.value("mesh-key");
    if (args.has("mesh-allow")) o.mesh_allow = args.value("mesh-allow");
    o.tool = tool;
    if (o.name.empty() || args.has("name")) o.name = args.value("name", std::move(name));
    return o;
}

// Starts node and waits for an edge; an error that says what to check otherwise.
Status join(Node& node, const Args& args, const NodeOptions& options) {
    auto timeout = args.number("timeout-ms", 5000, 1, 600'000);
    if (!timeout) return timeout.error();
    if (auto started = node.start(); !started) return started;
    if (!node.wait_for_edges(1, std::chrono::milliseconds{*timeout})) {
        std::string where;
        for (const auto& s : options.seeds) where += (where.empty() ? "at " : ",") + s;
        if (!options.beacon_interface.empty())
            where += (where.empty() ? "" : " or ") + ("by beacon on " + options.beacon_interface);
        if (where.empty()) where = "at tcp://127.0.0.1:7700";
        return make_error(Errc::no_edge,
                          "no edge answered within " + std::to_string(*timeout) + " ms " + where);
    }
    return {};
}

int help_or_usage(const Args& args, std::string_view help, std::size_t positionals) {
    if (args.has("help")) {
        std::cout << help << kJoinHelp.substr(1);
        return 0;
    }
    if (args.positional.size() != positionals) {
        std::cerr << help << kJoinHelp.substr(1);
        return 2;
    }
    return -1;
}

}  // namespace adashta::cli
