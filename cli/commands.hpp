// The adashta subcommands. Each takes the arguments after its own name and returns the
// process exit code: 0 done, 1 failed, 2 bad usage.
#pragma once

namespace adashta::cli {

int cmd_edge(int argc, char** argv);
int cmd_produce(int argc, char** argv);
int cmd_consume(int argc, char** argv);
int cmd_peers(int argc, char** argv);
int cmd_fetch(int argc, char** argv);
int cmd_cancel(int argc, char** argv);
int cmd_queues(int argc, char** argv);
int cmd_keys(int argc, char** argv);
int cmd_token(int argc, char** argv);
int cmd_config(int argc, char** argv);
int cmd_plugin(int argc, char** argv);
int cmd_hub(int argc, char** argv);

}  // namespace adashta::cli
