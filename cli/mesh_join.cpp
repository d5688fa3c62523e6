#include "mesh_join.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>
#include <vector>

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

namespace {

// The positional arguments a usage line names: "Usage: adashta produce QUEUE DATA [--to
// CLIENT]" -> QUEUE, DATA (upper-case words before the first option).
std::vector<std::string> positional_names(std::string_view usage) {
    std::vector<std::string> names;
    std::istringstream words{std::string{usage}};
    std::string word;
    while (words >> word) {
        if (word.starts_with('[') || word.starts_with('-')) break;
        const bool upper = std::all_of(word.begin(), word.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || c == '_';
        });
        if (upper) names.push_back(word);
    }
    return names;
}

}  // namespace

int help_or_usage(const Args& args, std::string_view help, std::size_t positionals) {
    if (args.has("help")) {
        std::cout << help << kJoinHelp.substr(1);
        return 0;
    }
    if (args.positional.size() == positionals) return -1;
    // What is wrong and the usage line, not the whole help: the mistake stays in sight.
    const std::string_view usage = help.substr(0, help.find('\n'));
    const auto names = positional_names(usage.substr(usage.find("adashta")));
    std::string what;
    if (args.positional.size() < positionals && args.positional.size() < names.size()) {
        for (std::size_t i = args.positional.size(); i < names.size(); ++i)
            what += (what.empty() ? "" : " and ") + names[i];
        what += names.size() - args.positional.size() == 1 ? " is missing" : " are missing";
    } else {
        what = "too many arguments: " + std::to_string(args.positional.size()) + " given, " +
               std::to_string(positionals) + " wanted; put values with spaces in quotes";
    }
    std::cerr << "adashta: bad_option: " << what << "\n"
              << usage << "\n"
              << "See adashta " << args.command << " --help\n";
    return 2;
}

}  // namespace adashta::cli
