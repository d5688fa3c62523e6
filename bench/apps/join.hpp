// Joining the mesh for a benchmark tool: a started adashta::Node that an edge has taken in,
// or exit 1 with a message that says which seeds were tried and what to start.
//
//   auto node = join_mesh("adashta-bench-wq", flags.text("--seeds", ""), "bench-wq");
//   adashta::WorkQueues queues{*node};
//   auto nodes = join_nodes("adashta-bench-wq", seeds, "bench-wq-", 16);  // bench-wq-0 ...
//   fresh_work_queue("adashta-bench-wq", *nodes[0], "benchwq");
#pragma once

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <vector>

#include "adashta/node.hpp"
#include "adashta/text.hpp"
#include "adashta/work_queues.hpp"

namespace adashta::bench {

// seeds: comma-separated endpoints; empty = ADASHTA_SEEDS (NodeOptions::from_env).
inline std::unique_ptr<Node> join_mesh(const std::string& tool, const std::string& seeds,
                                       const std::string& name, bool as_tool = false) {
    NodeOptions options = NodeOptions::from_env();
    if (!seeds.empty()) options.seeds = split_list(seeds);
    if (!name.empty()) options.name = name;
    options.tool = as_tool;
    auto node = std::make_unique<Node>(options);
    if (auto started = node->start(); !started) {
        std::cerr << tool << ": " << started.error().to_string() << "\n";
        std::exit(1);
    }
    if (!node->wait_for_edges(1, std::chrono::seconds{10})) {
        std::string tried;
        for (const auto& s : options.seeds) tried += (tried.empty() ? "" : ",") + s;
        if (tried.empty()) tried = "tcp://127.0.0.1:7700";
        std::cerr << tool << ": no edge answered at " << tried
                  << " within 10 s; start one, e.g. `adashta edge --mesh 127.0.0.1:7700`, and "
                     "give its mesh endpoint in ADASHTA_SEEDS or --seeds\n";
        std::exit(1);
    }
    return node;
}

// `count` nodes named prefix0, prefix1, ..., each joined as by join_mesh.
inline std::vector<std::unique_ptr<Node>> join_nodes(const std::string& tool,
                                                     const std::string& seeds,
                                                     const std::string& prefix, long count) {
    std::vector<std::unique_ptr<Node>> nodes;
    for (long i = 0; i < count; ++i)
        nodes.push_back(join_mesh(tool, seeds, prefix + std::to_string(i)));
    return nodes;
}

// Deletes the work queue if it is there and creates it empty (visibility 30 s), or exits 1
// saying which call failed.
inline void fresh_work_queue(const std::string& tool, Node& node, const std::string& queue) {
    WorkQueues setup{node};
    if (auto dropped = setup.delete_queue(queue);
        !dropped && dropped.error().code != Errc::unknown_queue) {
        std::cerr << tool << ": delete_queue " << queue << ": " << dropped.error().to_string()
                  << "\n";
        std::exit(1);
    }
    if (auto created = setup.create_queue(queue, {.vt = std::chrono::milliseconds{30000}});
        !created) {
        std::cerr << tool << ": create_queue " << queue << ": " << created.error().to_string()
                  << "\n";
        std::exit(1);
    }
}

}  // namespace adashta::bench
